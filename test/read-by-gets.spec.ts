import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { readsThroughGets } from "../src/store/read-by-gets.ts";
import { readMessages, type ReadOptions, type StoredMessage } from "../src/store/read-stream.ts";
import { eventually, givenTopology } from "./harness.ts";

// An edge may not create consumers on cloud streams, so its connection reads them through message gets
// (src/store/read-by-gets.ts). Every read here is made twice, by the cloud (through a consumer) and by edge 1
// (through gets, across its leaf link), and both must see the same messages.
type Given = Awaited<ReturnType<typeof givenTopology>>;
let given: Given;
let cloud: NatsConnection;
let edge: NatsConnection;
const encoder = new TextEncoder();
const STREAM = "TASKS";

beforeAll(async () => {
  given = await givenTopology({ edges: 1 });
  cloud = await given.connect(CLOUD_DOMAIN);
  edge = await given.connect("1");
  await (await cloud.jetstreamManager()).streams.add({ name: STREAM, subjects: ["tide.task.>"] });
  const js = cloud.jetstream();
  for (let i = 1; i <= 150; i++) await js.publish(`tide.task.t${i % 3}`, encoder.encode(`m${i}`), { headers: undefined });
  // Gaps: deleted messages are skipped, not read as the end.
  const jsm = await cloud.jetstreamManager();
  for (const seq of [5, 70, 71, 72, 149]) await jsm.streams.deleteMessage(STREAM, seq);
}, 60_000);

afterAll(async () => {
  await given?.cleanup();
});

const view = (m: StoredMessage) => ({ seq: m.seq, subject: m.subject, storedAt: m.storedAt, data: new TextDecoder().decode(m.data) });

async function both(options: Omit<ReadOptions, "stream" | "domain">) {
  const read = async (nc: NatsConnection) => {
    const out: ReturnType<typeof view>[] = [];
    for await (const m of readMessages(nc, { stream: STREAM, domain: CLOUD_DOMAIN, ...options })) out.push(view(m));
    return out;
  };
  return { byConsumer: await read(cloud), byGets: await read(edge) };
}

describe("reading a cloud stream from an edge, through message gets", () => {
  it("is how an edge's connection reads the cloud, and only the cloud", () => {
    expect(readsThroughGets(edge, CLOUD_DOMAIN)).toBe(true);
    expect(readsThroughGets(edge, "edge-1")).toBe(false);
    expect(readsThroughGets(cloud, CLOUD_DOMAIN)).toBe(false);
  });

  it("reads the whole stream, past deleted messages, exactly as a consumer does", async () => {
    const { byConsumer, byGets } = await both({});
    expect(byConsumer).toHaveLength(145);
    expect(byGets).toEqual(byConsumer);
    expect(byGets.map((m) => m.seq)).not.toContain(70);
  });

  it("reads a sequence range, a subject filter and a time range as a consumer does", async () => {
    const range = await both({ fromSeq: 60, toSeq: 80 });
    expect(range.byGets.map((m) => m.seq)).toEqual(range.byConsumer.map((m) => m.seq));
    expect(range.byGets).toHaveLength(18);

    const filtered = await both({ subject: "tide.task.t1", fromSeq: 3 });
    expect(filtered.byGets).toEqual(filtered.byConsumer);
    expect(filtered.byGets.every((m) => m.subject === "tide.task.t1")).toBe(true);
    // 1, 4, ..., 148 from 3 on, but 70 (deleted).
    expect(filtered.byGets).toHaveLength(48);

    const all = (await both({})).byConsumer;
    const since = new Date(all[40]!.storedAt);
    const until = new Date(all[100]!.storedAt);
    const timed = await both({ since, until });
    expect(timed.byGets).toEqual(timed.byConsumer);
    expect(timed.byGets.length).toBeGreaterThan(0);
  });

  it("follows the stream: messages stored later arrive, in order, until the read is aborted", async () => {
    const controller = new AbortController();
    const { state } = await (await cloud.jetstreamManager()).streams.info(STREAM);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const m of readMessages(edge, { stream: STREAM, domain: CLOUD_DOMAIN, fromSeq: state.last_seq + 1, follow: true, signal: controller.signal })) {
        seen.push(new TextDecoder().decode(m.data));
      }
    })();
    const js = cloud.jetstream();
    for (let i = 0; i < 5; i++) await js.publish("tide.task.late", encoder.encode(`late-${i}`));
    await eventually(() => seen.length, (n) => n >= 5, 10_000, "the late messages");
    controller.abort();
    await reading;
    expect(seen).toEqual(["late-0", "late-1", "late-2", "late-3", "late-4"]);
  });

  it("reads nothing past the end of a bounded read, and nothing of an empty range", async () => {
    const { state } = await (await cloud.jetstreamManager()).streams.info(STREAM);
    expect((await both({ fromSeq: state.last_seq + 1 })).byGets).toEqual([]);
    const tail = await both({ fromSeq: state.last_seq - 2 });
    expect(tail.byGets).toEqual(tail.byConsumer);
    expect(tail.byGets).toHaveLength(3);
  });
});
