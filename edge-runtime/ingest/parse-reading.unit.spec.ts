import { headers as natsHeaders, type MsgHdrs } from "nats";
import { describe, expect, it } from "vitest";
import { CE, CE_SPEC_VERSION } from "../../src/events/index.ts";
import { MAX_READING_BYTES, parseReading, type ParsedReading } from "./parse-reading.ts";

const encoder = new TextEncoder();
const SUBJECT = "tide.ingest.1.d1";

/** Headers from `fields`; an `undefined` value leaves the header out. */
function hdrs(fields: Record<string, string | undefined>): MsgHdrs {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) h.set(key, value);
  return h;
}

const ceHeaders = (overrides: Record<string, string | undefined> = {}) =>
  hdrs({ [CE.specversion]: CE_SPEC_VERSION, [CE.id]: "dev-id-1", [CE.type]: "tide.reading.recorded.v1", [CE.source]: "device://d1", ...overrides });

const parse = (body: string | Uint8Array, options: { subject?: string; headers?: MsgHdrs } = {}): ParsedReading =>
  parseReading("1", options.subject ?? SUBJECT, options.headers, typeof body === "string" ? encoder.encode(body) : body);

const json = (value: unknown) => JSON.stringify(value);

function rejected(result: ParsedReading) {
  if (result.success) throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
  return result;
}

function accepted(result: ParsedReading) {
  if (!result.success) throw new Error(`expected a reading, got ${result.reason}: ${result.message}`);
  return result;
}

describe("parseReading accepts", () => {
  it("a complete reading, as the edge's ReadingData", () => {
    const result = accepted(parse(json({ device: "d1", ts: "2024-06-01T12:00:00+02:00", seq: 3, temperature: 21.5, humidity: 40 })));
    expect(result.reading).toEqual({ edge: "1", device: "d1", ts: "2024-06-01T10:00:00.000Z", seq: 3, temperature: 21.5, humidity: 40 });
  });

  it("a bare measurement, timestamped on arrival and without a seq", () => {
    const before = Date.now();
    const result = accepted(parse(json({ temperature: -60, humidity: 100 })));
    expect(result.reading).toMatchObject({ edge: "1", device: "d1", temperature: -60, humidity: 100 });
    expect(result.reading).not.toHaveProperty("seq");
    expect(Date.parse(result.reading.ts)).toBeGreaterThanOrEqual(before - 1);
  });

  it("epoch milliseconds as ts", () => {
    const result = accepted(parse(json({ ts: 1_717_243_200_000, temperature: 1, humidity: 2 })));
    expect(result.reading.ts).toBe("2024-06-01T12:00:00.000Z");
  });

  it("a complete, correct CloudEvents envelope, keeping ce-id as the event id", () => {
    const result = accepted(parse(json({ temperature: 20, humidity: 50 }), { headers: ceHeaders({ [CE.contentType]: "application/json" }) }));
    expect(result.id).toBe("dev-id-1");
  });

  it("non-CloudEvents headers, ignoring them", () => {
    expect(parse(json({ temperature: 20, humidity: 50 }), { headers: hdrs({ "x-firmware": "1.2" }) }).success).toBe(true);
  });
});

describe("parseReading ids", () => {
  const body = { ts: "2024-06-01T12:00:00.000Z", seq: 9, temperature: 20, humidity: 50 };

  it("are the same for the same device, ts and seq, so a retry is stored once", () => {
    const first = accepted(parse(json(body)));
    const retry = accepted(parse(json({ ...body, temperature: 20 })));
    expect(retry.id).toBe(first.id);
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("do not depend on how the ts was written", () => {
    const iso = accepted(parse(json(body)));
    const epoch = accepted(parse(json({ ...body, ts: Date.parse(body.ts) })));
    expect(epoch.id).toBe(iso.id);
  });

  it("differ for another seq, ts, device or edge", () => {
    const base = accepted(parse(json(body))).id;
    expect(accepted(parse(json({ ...body, seq: 10 }))).id).not.toBe(base);
    expect(accepted(parse(json({ ...body, ts: "2024-06-01T12:00:00.001Z" }))).id).not.toBe(base);
    expect(accepted(parse(json(body), { subject: "tide.ingest.1.d2" })).id).not.toBe(base);
    expect(accepted(parseReading("2", "tide.ingest.2.d1", undefined, encoder.encode(json(body)))).id).not.toBe(base);
  });

  it("are the device's own when it gives one (payload id, or ce-id before it)", () => {
    expect(accepted(parse(json({ ...body, id: "mine" }))).id).toBe("mine");
    expect(accepted(parse(json({ ...body, id: "mine" }), { headers: ceHeaders() })).id).toBe("dev-id-1");
  });

  it("are fresh for a reading without ts (nothing to recognise a retry by)", () => {
    const a = accepted(parse(json({ temperature: 20, humidity: 50 })));
    const b = accepted(parse(json({ temperature: 20, humidity: 50 })));
    expect(a.id).not.toBe(b.id);
  });
});

describe("parseReading rejects", () => {
  it("a payload over the size limit: oversize", () => {
    const big = json({ temperature: 20, humidity: 50, id: "x".repeat(MAX_READING_BYTES) });
    const result = rejected(parse(big));
    expect(result.reason).toBe("oversize");
    expect(result.message).toContain(String(big.length));
    expect(parse(json({ temperature: 20, humidity: 50 }).padEnd(MAX_READING_BYTES, " ")).success).toBe(true);
  });

  it.each(["tide.ingest.1.a.b", "tide.ingest.1", "tide.ingest.1.bad$device", `tide.ingest.1.${"d".repeat(65)}`])("subject %s: bad_subject", (subject) => {
    const result = rejected(parse(json({ temperature: 20, humidity: 50 }), { subject }));
    expect(result.reason).toBe("bad_subject");
    expect(result.message).toContain(subject);
  });

  it.each([
    ["bytes that are not JSON", "temperature=20"],
    ["NaN, which JSON has no word for", '{"temperature": NaN, "humidity": 40}'],
    ["an empty payload", ""],
  ])("%s: not_json", (_, body) => {
    expect(rejected(parse(body)).reason).toBe("not_json");
  });

  it("bytes that are not UTF-8: not_json", () => {
    expect(rejected(parse(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).reason).toBe("not_json");
  });

  it.each([
    ["missing humidity", '{"temperature": 20}', "humidity"],
    ["a string temperature", '{"temperature": "20", "humidity": 40}', "temperature"],
    ["an unknown extra field", '{"temperature": 20, "humidity": 40, "pressure": 1013}', "pressure"],
    ["a number too large for a double (Infinity)", '{"temperature": 1e999, "humidity": 40}', "temperature"],
    ["a JSON array", "[20, 40]", "(root)"],
    ["a ts that is not a time", '{"ts": "yesterday", "temperature": 20, "humidity": 40}', "ts"],
    ["a negative seq", '{"seq": -1, "temperature": 20, "humidity": 40}', "seq"],
    ["an out-of-range temperature", '{"temperature": 999, "humidity": 40}', "temperature"],
    ["an out-of-range humidity", '{"temperature": 20, "humidity": -5}', "humidity"],
  ])("%s: schema, with an issue naming the field", (_, body, field) => {
    const result = rejected(parse(body));
    expect(result.reason).toBe("schema");
    expect(result.issues?.some((issue) => issue.includes(field))).toBe(true);
  });

  it("a payload naming another device than its subject: device_mismatch", () => {
    const result = rejected(parse(json({ device: "d2", temperature: 20, humidity: 40 })));
    expect(result.reason).toBe("device_mismatch");
    expect(result.message).toContain("d2");
  });

  it.each([
    ["ce-id missing", ceHeaders({ [CE.id]: undefined }), "ce-id"],
    ["ce-id empty", ceHeaders({ [CE.id]: "" }), "ce-id"],
    ["ce-specversion 0.3", ceHeaders({ [CE.specversion]: "0.3" }), "0.3"],
    ["content-type text/plain", hdrs({ [CE.contentType]: "text/plain" }), "text/plain"],
  ])("headers with %s: bad_headers", (_, headers, mentioned) => {
    const result = rejected(parse(json({ temperature: 20, humidity: 40 }), { headers }));
    expect(result.reason).toBe("bad_headers");
    expect(result.message).toContain(mentioned);
  });

  it("an incomplete CloudEvents envelope (only ce-type), naming what is missing", () => {
    const result = rejected(parse(json({ temperature: 20, humidity: 40 }), { headers: hdrs({ [CE.type]: "tide.reading.recorded.v1" }) }));
    expect(result.reason).toBe("bad_headers");
    expect(result.message).toMatch(/ce-specversion.*ce-id.*ce-source/);
  });

  it.each([
    ["an unknown event type", "tide.bogus.v1", /unknown event type 'tide\.bogus\.v1'/],
    ["a known type that is not a reading", "tide.task.submitted.v1", /tide\.task\.submitted\.v1 is not accepted/],
  ])("%s: unknown_type", (_, type, message) => {
    const result = rejected(parse(json({ temperature: 20, humidity: 40 }), { headers: ceHeaders({ [CE.type]: type }) }));
    expect(result.reason).toBe("unknown_type");
    expect(result.message).toMatch(message);
  });
});
