import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { DEAD_LETTER_PAYLOAD_LIMIT } from "../src/dead-letter/dead-letter.ts";
import { CE, CE_SPEC_VERSION, decodeEvent, type TideEvent } from "../src/events/index.ts";
import { readMessages, type StoredMessage } from "../src/store/read-stream.ts";
import { eventually, givenFleet, streamMessages } from "./harness.ts";

const EDGE = "1";
const DOMAIN = "edge-1";
const encoder = new TextEncoder();

type Fields = Record<string, string | undefined>;

/** Headers from `fields`; an `undefined` value leaves that header out. */
function headersOf(fields: Fields | undefined): MsgHdrs | undefined {
  if (!fields) return undefined;
  const h = natsHeaders();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) h.set(key, value);
  return h;
}

/** The record a dead letter should keep of `fields`. */
function recordOf(fields: Fields | undefined): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fields ?? {}).flatMap(([key, value]) => (value === undefined ? [] : [[key, [value]]])));
}

const ceFields = (device: string, overrides: Fields = {}): Fields => ({
  [CE.specversion]: CE_SPEC_VERSION,
  [CE.id]: `ce-${device}`,
  [CE.type]: "tide.reading.recorded.v1",
  [CE.source]: `device://${device}`,
  ...overrides,
});

const good = (overrides: Record<string, unknown> = {}) => JSON.stringify({ temperature: 21, humidity: 40, ...overrides });

interface BadInput {
  name: string;
  reason: string;
  /** The device the input is about (it must never get a row). */
  device: string;
  subject?: string;
  body: string | Uint8Array;
  headers?: Fields;
}

const bytes = (body: string | Uint8Array) => (typeof body === "string" ? encoder.encode(body) : body);

const cases: BadInput[] = [
  { name: "bytes that are not JSON", reason: "not_json", device: "bad-not-json", body: "temperature=21;humidity=40" },
  { name: "a NaN literal", reason: "not_json", device: "bad-nan", body: '{"temperature": NaN, "humidity": 40}' },
  { name: "missing humidity", reason: "schema", device: "bad-no-humidity", body: '{"temperature": 21}' },
  { name: "a string temperature", reason: "schema", device: "bad-string-temp", body: '{"temperature": "21", "humidity": 40}' },
  { name: "an unknown extra field", reason: "schema", device: "bad-extra-field", body: good({ pressure: 1013 }) },
  { name: "1e999 (parses to Infinity)", reason: "schema", device: "bad-infinity", body: '{"temperature": 1e999, "humidity": 40}' },
  { name: "temperature 999 (out of range)", reason: "schema", device: "bad-hot", body: good({ temperature: 999 }) },
  { name: "humidity -5 (out of range)", reason: "schema", device: "bad-dry", body: good({ humidity: -5 }) },
  { name: "an unknown ce-type", reason: "unknown_type", device: "bad-bogus-type", body: good(), headers: ceFields("bad-bogus-type", { [CE.type]: "tide.bogus.v1" }) },
  {
    name: "a known ce-type that is not a reading",
    reason: "unknown_type",
    device: "bad-task-type",
    body: good(),
    headers: ceFields("bad-task-type", { [CE.type]: "tide.task.submitted.v1" }),
  },
  { name: "a payload over 4096 bytes", reason: "oversize", device: "bad-oversize", body: good({ id: "x".repeat(5000) }) },
  { name: "CloudEvents headers without ce-id", reason: "bad_headers", device: "bad-no-ce-id", body: good(), headers: ceFields("bad-no-ce-id", { [CE.id]: undefined }) },
  { name: "ce-specversion 0.3", reason: "bad_headers", device: "bad-spec-03", body: good(), headers: ceFields("bad-spec-03", { [CE.specversion]: "0.3" }) },
  { name: "content-type text/plain", reason: "bad_headers", device: "bad-text-plain", body: good(), headers: { [CE.contentType]: "text/plain" } },
  { name: "a payload device that is not the subject's", reason: "device_mismatch", device: "bad-mismatch", body: good({ device: "someone-else" }) },
  { name: "a subject with an extra token", reason: "bad_subject", device: "a", subject: "tide.ingest.1.a.b", body: good() },
];

describe("bad input at the edge ingest", () => {
  let given: Awaited<ReturnType<typeof givenFleet>>;
  let nc: NatsConnection;

  beforeAll(async () => {
    given = await givenFleet({ edges: 1 });
    nc = await given.connect(EDGE);
  });
  afterAll(async () => {
    await given?.cleanup();
  });

  const projectionDb = () => given.fleet.edges.get(EDGE)!.db;
  const deviceRows = (device: string) => projectionDb().prepare("SELECT * FROM devices WHERE edge = ? AND device = ?").all(EDGE, device);
  const readingsCount = () => streamMessages(nc, DOMAIN, "READINGS");
  const dlqLastSeq = async () => (await (await nc.jetstreamManager({ domain: DOMAIN })).streams.info("DLQ")).state.last_seq;

  async function dlqAfter(seq: number): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    for await (const m of readMessages(nc, { stream: "DLQ", domain: DOMAIN, fromSeq: seq + 1 })) messages.push(m);
    return messages;
  }

  async function request(subject: string, body: string | Uint8Array, headers?: Fields): Promise<IngestReply> {
    const h = headersOf(headers);
    const msg = await nc.request(subject, bytes(body), { timeout: 10_000, ...(h ? { headers: h } : {}) });
    return msg.json<IngestReply>();
  }

  function deadLetterOf(message: StoredMessage): TideEvent<"tide.dlq.rejected.v1"> {
    const decoded = decodeEvent(message.headers, message.data);
    if (!decoded.success) throw new Error(`DLQ message ${message.seq} is not a valid event: ${decoded.message}`);
    expect(decoded.event.type).toBe("tide.dlq.rejected.v1");
    return decoded.event as TideEvent<"tide.dlq.rejected.v1">;
  }

  /** A good reading for `device`, waited for in the projection: everything stored before it has been projected. */
  async function projectedSentinel(device: string): Promise<void> {
    const reply = await request(`tide.ingest.${EDGE}.${device}`, good());
    expect(reply.ok).toBe(true);
    await eventually(() => deviceRows(device).length, (n) => n === 1, 20_000, `projection row of ${device}`);
  }

  it.each(cases)("$name is answered $reason, dead-lettered with its bytes and headers, and never stored", async (input) => {
    const subject = input.subject ?? `tide.ingest.${EDGE}.${input.device}`;
    const readingsBefore = await readingsCount();
    const dlqBefore = await dlqLastSeq();

    const reply = await request(subject, input.body, input.headers);

    expect(reply).toMatchObject({ ok: false, reason: input.reason });
    expect(!reply.ok && reply.message.length).toBeGreaterThan(0);
    const letters = await dlqAfter(dlqBefore);
    expect(letters.map((m) => m.subject)).toEqual([`tide.dlq.${EDGE}.${input.reason}`]);
    const letter = deadLetterOf(letters[0]!).data;
    expect(letter.reason).toBe(input.reason);
    expect(letter.message.length).toBeGreaterThan(0);
    expect(letter.subject).toBe(subject);
    expect(letter.headers).toEqual(recordOf(input.headers));
    expect(letter.truncated).toBe(false);
    expect(letter.payloadBytes).toBe(bytes(input.body).length);
    expect(Buffer.from(letter.payload, "base64").equals(Buffer.from(bytes(input.body)))).toBe(true);
    expect(await readingsCount()).toBe(readingsBefore);

    await projectedSentinel(`ok-after-${input.device}`);
    expect(deviceRows(input.device)).toEqual([]);
  });

  it("a payload over the dead-letter limit is kept truncated, with its full size", async () => {
    const device = "bad-huge";
    const body = encoder.encode(good({ id: "y".repeat(DEAD_LETTER_PAYLOAD_LIMIT + 5000) }));
    const readingsBefore = await readingsCount();
    const dlqBefore = await dlqLastSeq();

    const reply = await request(`tide.ingest.${EDGE}.${device}`, body);

    expect(reply).toMatchObject({ ok: false, reason: "oversize" });
    const letters = await dlqAfter(dlqBefore);
    expect(letters.map((m) => m.subject)).toEqual([`tide.dlq.${EDGE}.oversize`]);
    const letter = deadLetterOf(letters[0]!).data;
    expect(letter.truncated).toBe(true);
    expect(letter.payloadBytes).toBe(body.length);
    expect(Buffer.from(letter.payload, "base64").equals(Buffer.from(body.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT)))).toBe(true);
    expect(await readingsCount()).toBe(readingsBefore);
    await projectedSentinel(`ok-after-${device}`);
    expect(deviceRows(device)).toEqual([]);
  });

  it("garbage published without a reply subject still ends in the DLQ", async () => {
    const garbage = new Uint8Array([0x00, 0xff, 0x13, 0x37, 0x7b]);
    const dlqBefore = await dlqLastSeq();
    const readingsBefore = await readingsCount();

    nc.publish(`tide.ingest.${EDGE}.fire-and-forget`, garbage);

    await eventually(dlqLastSeq, (seq) => seq > dlqBefore, 20_000, "a dead letter for the fire-and-forget garbage");
    const letters = await dlqAfter(dlqBefore);
    expect(letters.map((m) => m.subject)).toEqual([`tide.dlq.${EDGE}.not_json`]);
    const letter = deadLetterOf(letters[0]!).data;
    expect(letter.subject).toBe(`tide.ingest.${EDGE}.fire-and-forget`);
    expect(letter.headers).toEqual({});
    expect(Buffer.from(letter.payload, "base64").equals(Buffer.from(garbage))).toBe(true);
    expect(await readingsCount()).toBe(readingsBefore);
  });

  it("after a burst of every kind of bad input, the ingest still stores a good reading", async () => {
    const dlqBefore = await dlqLastSeq();
    for (const input of cases) {
      nc.publish(input.subject ?? `tide.ingest.${EDGE}.${input.device}`, bytes(input.body), headersOf(input.headers) ? { headers: headersOf(input.headers)! } : {});
    }
    await eventually(dlqLastSeq, (seq) => seq >= dlqBefore + cases.length, 20_000, "every bad input dead-lettered");
    const reasons = (await dlqAfter(dlqBefore)).map((m) => deadLetterOf(m).data.reason).sort();
    expect(reasons).toEqual(cases.map((c) => c.reason).sort());

    const readingsBefore = await readingsCount();
    const reply = await request(`tide.ingest.${EDGE}.survivor`, good({ temperature: 22.5 }));

    expect(reply).toMatchObject({ ok: true, duplicate: false });
    expect(await readingsCount()).toBe(readingsBefore + 1);
    const row = await eventually(() => deviceRows("survivor") as { temperature: number }[], (rows) => rows.length === 1, 20_000, "survivor's row");
    expect(row[0]!.temperature).toBe(22.5);
    expect(given.fleet.edges.get(EDGE)!.ingest.stats.failed).toBe(0);
  });

  it("a valid reading with complete CloudEvents headers is stored under its ce-id", async () => {
    const device = "with-headers";
    const fields = ceFields(device, { [CE.id]: "device-chosen-id-42", [CE.contentType]: "application/json" });
    const body = good({ ts: "2024-06-01T12:00:00.000Z", seq: 1, temperature: 19.25, humidity: 55 });

    const reply = await request(`tide.ingest.${EDGE}.${device}`, body, fields);

    expect(reply).toMatchObject({ ok: true, id: "device-chosen-id-42", duplicate: false });
    const seq = reply.ok ? reply.seq : 0;
    const stored: StoredMessage[] = [];
    for await (const m of readMessages(nc, { stream: "READINGS", domain: DOMAIN, fromSeq: seq, toSeq: seq })) stored.push(m);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.subject).toBe(`tide.reading.${EDGE}.${device}.up`);
    const decoded = decodeEvent(stored[0]!.headers, stored[0]!.data);
    expect(decoded.success && decoded.event).toMatchObject({
      type: "tide.reading.recorded.v1",
      data: { edge: EDGE, device, ts: "2024-06-01T12:00:00.000Z", seq: 1, temperature: 19.25, humidity: 55 },
      metadata: { id: "device-chosen-id-42" },
    });

    const retry = await request(`tide.ingest.${EDGE}.${device}`, body, fields);
    expect(retry).toMatchObject({ ok: true, id: "device-chosen-id-42", seq, duplicate: true });
  });
});
