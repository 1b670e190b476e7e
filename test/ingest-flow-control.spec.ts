import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIngest, type Ingest, type IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { subjects } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { readMessages } from "../src/store/read-stream.ts";
import { applyStreams } from "../streams/apply.ts";
import { givenTopology } from "./harness.ts";

const EDGE = "1";
const BOUND = 16;
const FLOOD = 3000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let given: Awaited<ReturnType<typeof givenTopology>>;
let device: NatsConnection;
let edgeNc: NatsConnection;
let ingest: Ingest;

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  edgeNc = await given.connect(EDGE);
  device = await given.connect(EDGE);
  await applyStreams({ nc: edgeNc, place: "edge", domain: edgeDomain(EDGE), context: { edge: EDGE, edges: [EDGE] } });
  ingest = startIngest({ nc: edgeNc, edge: EDGE, maxPending: BOUND });
});

afterAll(async () => {
  await ingest?.stop();
  await given?.cleanup();
});

const send = async (dev: string, seq: number): Promise<IngestReply> => {
  const payload = { ts: 1_700_000_000_000 + seq * 1000, seq, temperature: 20 + (seq % 10) / 10, humidity: 40 };
  const reply = await device.request(subjects.ingest(EDGE, dev), encoder.encode(JSON.stringify(payload)), { timeout: 60_000 });
  return JSON.parse(decoder.decode(reply.data)) as IngestReply;
};

describe("ingest flow control", () => {
  it("answers `unavailable` beyond its bound, stores every reading it acked and nothing else, and keeps serving", async () => {
    // Watch the readings in hand while the flood is on: never above the bound.
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, ingest.pending())), 1);
    const replies = await Promise.all(Array.from({ length: FLOOD }, (_, i) => send(`flood-${i % 50}`, i)));
    clearInterval(watch);

    const stored = replies.filter((r): r is Extract<IngestReply, { ok: true }> => r.ok);
    const refused = replies.filter((r): r is Extract<IngestReply, { ok: false }> => !r.ok);
    expect(stored.length + refused.length).toBe(FLOOD);
    expect(refused.length, "some readings were turned away").toBeGreaterThan(0);
    expect(stored.length, "some readings were stored").toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.reason).toBe("unavailable");
      expect(r.message).toMatch(/ingest is overloaded \(16 readings in hand\); retry later/);
    }
    expect(ingest.stats.shed).toBe(refused.length);
    expect(ingest.stats.accepted).toBe(stored.length);
    expect(peak).toBeLessThanOrEqual(BOUND);

    // What was acked is in READINGS, once; what was turned away is not.
    const inStream = [];
    for await (const m of readMessages(edgeNc, { stream: "READINGS", domain: edgeDomain(EDGE) })) inStream.push(m.headers?.get("Nats-Msg-Id") ?? "");
    expect([...inStream].sort()).toEqual(stored.map((r) => r.id).sort());

    // The device retries what was refused (same ts/seq): now stored, still once each.
    const retried: IngestReply[] = [];
    for (const i of replies.flatMap((r, i) => (r.ok ? [] : [i])).slice(0, 100)) retried.push(await send(`flood-${i % 50}`, i));
    expect(retried.every((r) => r.ok && !r.duplicate)).toBe(true);

    // Still serving: a single reading afterwards is stored.
    const after = await send("after-flood", 1);
    expect(after).toMatchObject({ ok: true, duplicate: false });
  });
});
