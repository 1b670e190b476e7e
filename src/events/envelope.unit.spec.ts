import { headers as natsHeaders, type MsgHdrs, type MsgHdrsImpl } from "nats";
import { describe, expect, it } from "vitest";
import type { TideEvent } from "./catalogue.ts";
import { CE, CE_SPEC_VERSION, CONTENT_TYPE, createEvent, decodeEvent, encodeEvent, headersToRecord } from "./envelope.ts";

const encoder = new TextEncoder();
const source = "tide://test/envelope";

const reading = createEvent(
  { type: "tide.reading.recorded.v1", data: { edge: "1", device: "d1", ts: "2024-06-01T12:00:00.000Z", seq: 7, temperature: 21.5, humidity: 40 } },
  { source, id: "reading-1", time: "2024-06-01T12:00:01.000Z" },
) as TideEvent;
const task = createEvent(
  { type: "tide.task.submitted.v1", data: { taskId: "t-1", kind: "train", needs: { cpu: 2, memoryMb: 512 }, priority: 3, payload: { epochs: 4 } } },
  { source },
) as TideEvent;
const deadLetter = createEvent(
  {
    type: "tide.dlq.rejected.v1",
    data: {
      reason: "not_json",
      message: "payload is not JSON",
      issues: [],
      subject: "tide.ingest.1.d1",
      headers: { "ce-id": ["x"] },
      payload: Buffer.from("garbage").toString("base64"),
      payloadBytes: 7,
      truncated: false,
      receivedAt: "2024-06-01T12:00:02.000Z",
    },
  },
  { source },
) as TideEvent;

/** Valid envelope headers for `type`, with `overrides` applied (`undefined` deletes a header). */
function envelope(type: string, overrides: Record<string, string | undefined> = {}): MsgHdrs {
  const fields: Record<string, string | undefined> = {
    [CE.specversion]: CE_SPEC_VERSION,
    [CE.id]: "id-1",
    [CE.type]: type,
    [CE.source]: source,
    [CE.time]: "2024-06-01T12:00:00.000Z",
    [CE.contentType]: CONTENT_TYPE,
    ...overrides,
  };
  const h = natsHeaders();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) h.set(key, value);
  return h;
}

const readingBody = encoder.encode(JSON.stringify(reading.data));

describe("encodeEvent / decodeEvent", () => {
  it.each([
    ["a reading", reading],
    ["a task submission", task],
    ["a dead letter", deadLetter],
  ])("round-trips %s: same type, data and metadata", (_, event) => {
    const { headers, data } = encodeEvent(event);
    const decoded = decodeEvent(headers, data);
    expect(decoded).toEqual({ success: true, event });
  });

  it("writes the CloudEvents binary-mode headers, with the event id as Nats-Msg-Id", () => {
    const { headers, data } = encodeEvent(reading);
    expect(headersToRecord(headers)).toEqual({
      [CE.specversion]: ["1.0"],
      [CE.id]: ["reading-1"],
      [CE.type]: ["tide.reading.recorded.v1"],
      [CE.source]: [source],
      [CE.time]: ["2024-06-01T12:00:01.000Z"],
      [CE.contentType]: ["application/json"],
      [CE.msgId]: ["reading-1"],
    });
    expect(JSON.parse(new TextDecoder().decode(data))).toEqual(reading.data);
  });

  it("puts on the wire exactly the bytes nats.js's own headers would", () => {
    const h = natsHeaders() as MsgHdrsImpl;
    for (const [key, value] of Object.entries(headersToRecord(encodeEvent(reading).headers))) h.append(key, value[0]!);
    expect(Buffer.from((encodeEvent(reading).headers as MsgHdrsImpl).encode())).toEqual(Buffer.from(h.encode()));
    expect(Buffer.from(encodeEvent(reading).data)).toEqual(Buffer.from(encoder.encode(JSON.stringify(reading.data))));
  });

  it("lets nats.js trim or refuse header values as it always has", () => {
    const padded = { ...reading, metadata: { ...reading.metadata, source: ` ${source}\t` } } as TideEvent;
    expect(encodeEvent(padded).headers.get(CE.source)).toBe(source);
    const broken = { ...reading, metadata: { ...reading.metadata, id: "a\r\nNats-Msg-Id: b" } } as TideEvent;
    expect(() => encodeEvent(broken)).toThrow(/invalid header value/);
  });

  it("fills in schema defaults on decode", () => {
    const body = encoder.encode(JSON.stringify({ taskId: "t-2", kind: "infer", needs: { cpu: 1, memoryMb: 64 }, priority: 0 }));
    const decoded = decodeEvent(envelope("tide.task.submitted.v1"), body);
    expect(decoded.success && decoded.event.type === "tide.task.submitted.v1" && decoded.event.data.payload).toEqual({});
  });
});

describe("decodeEvent refuses", () => {
  it("a message without headers", () => {
    expect(decodeEvent(undefined, readingBody)).toMatchObject({ success: false, reason: "bad_headers", message: "missing CloudEvents headers" });
  });

  it.each([CE.specversion, CE.id, CE.type, CE.source, CE.time])("a message missing %s, naming it", (name) => {
    const decoded = decodeEvent(envelope("tide.reading.recorded.v1", { [name]: undefined }), readingBody);
    expect(decoded.success).toBe(false);
    expect(decoded).toMatchObject({ reason: "bad_headers" });
    expect(!decoded.success && decoded.message).toContain(name);
  });

  it("another spec version", () => {
    const decoded = decodeEvent(envelope("tide.reading.recorded.v1", { [CE.specversion]: "0.3" }), readingBody);
    expect(decoded).toMatchObject({ success: false, reason: "bad_headers" });
    expect(!decoded.success && decoded.message).toMatch(/ce-specversion must be 1\.0, got '0\.3'/);
  });

  it("another content type", () => {
    const decoded = decodeEvent(envelope("tide.reading.recorded.v1", { [CE.contentType]: "text/plain" }), readingBody);
    expect(decoded).toMatchObject({ success: false, reason: "bad_headers" });
    expect(!decoded.success && decoded.message).toContain("text/plain");
  });

  it("a ce-time that is not a time", () => {
    const decoded = decodeEvent(envelope("tide.reading.recorded.v1", { [CE.time]: "soon" }), readingBody);
    expect(decoded).toMatchObject({ success: false, reason: "bad_headers" });
    expect(!decoded.success && decoded.message).toContain("soon");
  });

  it("a ce-time exactly when Date.parse refuses it, whatever came before", () => {
    const accepts = (time: string) => decodeEvent(envelope("tide.reading.recorded.v1", { [CE.time]: time }), readingBody).success;
    const seconds = ["2025-01-01T10:00:00", "2025-01-01T24:00:00", "2025-02-30T10:00:00", "2025-02-32T10:00:00", "2025-13-01T10:00:00", "2025-01-01T23:59:60"];
    const endings = [".000Z", ".001Z", ".999Z", ".12xZ", ".123", ".1234Z", "Z", ".000+01:00"];
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const time = seconds[seed % seconds.length]! + endings[(seed >> 8) % endings.length]!;
      expect(accepts(time), time).toBe(!Number.isNaN(Date.parse(time)));
    }
    expect(accepts("2025-01-01T24:00:00.000Z")).toBe(true);
    expect(accepts("2025-01-01T24:00:00.001Z")).toBe(false);
  });

  it("a body that is not JSON", () => {
    expect(decodeEvent(envelope("tide.reading.recorded.v1"), encoder.encode("{temperature: 21"))).toMatchObject({ success: false, reason: "not_json" });
  });

  it("an unknown event type, naming it", () => {
    const decoded = decodeEvent(envelope("tide.bogus.v1"), readingBody);
    expect(decoded).toMatchObject({ success: false, reason: "unknown_type" });
    expect(!decoded.success && decoded.message).toContain("tide.bogus.v1");
  });

  it("a body that fails its type's schema, with the issues", () => {
    const body = encoder.encode(JSON.stringify({ ...reading.data, temperature: "warm" }));
    const decoded = decodeEvent(envelope("tide.reading.recorded.v1"), body);
    expect(decoded).toMatchObject({ success: false, reason: "schema" });
    expect(!decoded.success && decoded.issues.some((issue) => issue.startsWith("temperature:"))).toBe(true);
  });

  it("a body of a known type that is another type's data", () => {
    const decoded = decodeEvent(envelope("tide.task.submitted.v1"), readingBody);
    expect(decoded).toMatchObject({ success: false, reason: "schema" });
  });
});
