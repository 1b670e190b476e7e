import type { JetStreamClient, NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrencyError } from "../src/errors.ts";
import { createEvent } from "../src/events/envelope.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { subjects } from "../src/events/subjects.ts";
import { edgeDomain } from "../src/ids.ts";
import { appendToStream, createEventWriter, readMessages, readStream, tailStream, type ReadEventsOptions, type StoredEvent } from "../src/store/index.ts";
import { startControlFeed } from "../src/store/control-feed.ts";
import { applyStreams } from "../streams/apply.ts";
import { givenTopology, streamMessages } from "./harness.ts";

type Given = Awaited<ReturnType<typeof givenTopology>>;

const EDGE = "1";
const DOMAIN = edgeDomain(EDGE);
const STREAM = "READINGS";

let given: Given;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  nc = await given.connect(EDGE);
  await applyStreams({ nc, place: "edge", domain: DOMAIN, context: { edge: EDGE, edges: [EDGE] } });
  js = nc.jetstream({ domain: DOMAIN });
});

afterAll(async () => {
  await given?.cleanup();
});

function reading(device: string, temperature = 20, id?: string) {
  return createEvent(
    { type: readingRecorded.type, data: { edge: EDGE, device, ts: new Date().toISOString(), temperature, humidity: 50 } },
    { source: "tide://test/event-store", ...(id ? { id } : {}) },
  );
}

/** Fail instead of hanging if a read never ends. */
async function within<T>(promise: Promise<T>, ms = 10_000, what = "read"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function collect(options: Omit<ReadEventsOptions, "stream" | "domain">): Promise<StoredEvent[]> {
  return within(
    (async () => {
      const events: StoredEvent[] = [];
      for await (const e of readStream(nc, { stream: STREAM, domain: DOMAIN, ...options })) events.push(e);
      return events;
    })(),
  );
}

const idsOf = (events: StoredEvent[]) => events.map((e) => e.event.metadata.id);

describe("event store", () => {
  it("stores a retried append once", async () => {
    const subject = subjects.reading(EDGE, "retry-dev");
    const event = reading("retry-dev");
    const before = await streamMessages(nc, DOMAIN, STREAM);

    const first = await appendToStream(js, subject, event);
    const second = await appendToStream(js, subject, event);

    expect(first).toMatchObject({ stream: STREAM, duplicate: false });
    expect(second).toEqual({ stream: STREAM, seq: first.seq, duplicate: true });
    expect(await streamMessages(nc, DOMAIN, STREAM)).toBe(before + 1);
    expect(idsOf(await collect({ subject }))).toEqual([event.metadata.id]);
  });

  it("lets exactly one of two conflicting appends win; the loser gets a ConcurrencyError", async () => {
    const subject = subjects.reading(EDGE, "race-dev");
    const head = await appendToStream(js, subject, reading("race-dev"), { expectedLastSubjectSequence: 0 });

    const outcomes = await Promise.allSettled([
      appendToStream(js, subject, reading("race-dev", 21), { expectedLastSubjectSequence: head.seq }),
      appendToStream(js, subject, reading("race-dev", 22), { expectedLastSubjectSequence: head.seq }),
    ]);
    const won = outcomes.filter((o) => o.status === "fulfilled");
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ seq: number }>).value;
    const error = (lost[0] as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect(error).toMatchObject({ code: "CONCURRENCY", subject, expected: head.seq, actual: winner.seq });

    // A stale expectation after the race fails too, and a correct one succeeds.
    await expect(appendToStream(js, subject, reading("race-dev"), { expectedLastSubjectSequence: head.seq })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(appendToStream(js, subject, reading("race-dev"), { expectedLastSubjectSequence: winner.seq })).resolves.toMatchObject({ duplicate: false });
  });

  it("lets exactly one of ten concurrent appends expecting the same sequence win", async () => {
    const subject = subjects.reading(EDGE, "race10-dev");
    const headEvent = reading("race10-dev");
    const head = await appendToStream(js, subject, headEvent, { expectedLastSubjectSequence: 0 });
    const contenders = Array.from({ length: 10 }, (_, i) => reading("race10-dev", 30 + i));

    const outcomes = await Promise.allSettled(contenders.map((e) => appendToStream(js, subject, e, { expectedLastSubjectSequence: head.seq })));
    const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ index: i, seq: o.value.seq }] : []));
    const lost = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const error of lost) {
      expect(error).toBeInstanceOf(ConcurrencyError);
      expect(error).toMatchObject({ subject, expected: head.seq, actual: won[0]!.seq });
    }
    const stored = await collect({ subject });
    expect(idsOf(stored)).toEqual([headEvent.metadata.id, contenders[won[0]!.index]!.metadata.id]);
    expect(stored.map((e) => e.seq)).toEqual([head.seq, won[0]!.seq]);
  });

  it("reads by subject filter", async () => {
    const a = subjects.reading(EDGE, "filter-a");
    const b = subjects.reading(EDGE, "filter-b");
    const written: { device: string; id: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const device = i % 2 === 0 ? "filter-a" : "filter-b";
      const event = reading(device, i);
      await appendToStream(js, device === "filter-a" ? a : b, event);
      written.push({ device, id: event.metadata.id });
    }
    const onA = await collect({ subject: a });
    expect(idsOf(onA)).toEqual(written.filter((w) => w.device === "filter-a").map((w) => w.id));
    expect(onA.every((e) => e.subject === a && e.event.type === "tide.reading.recorded.v1")).toBe(true);
    expect(idsOf(await collect({ subject: b }))).toEqual(
      written.filter((w) => w.device === "filter-b").map((w) => w.id),
    );
    expect(await collect({ subject: subjects.reading(EDGE, "filter-none") })).toEqual([]);
  });

  it("reads by sequence range, both ends inclusive", async () => {
    const subject = subjects.reading(EDGE, "range-dev");
    const appended: { seq: number; id: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const event = reading("range-dev", i);
      appended.push({ seq: (await appendToStream(js, subject, event)).seq, id: event.metadata.id });
    }
    const middle = await collect({ fromSeq: appended[1]!.seq, toSeq: appended[3]!.seq });
    expect(middle.map((e) => e.seq)).toEqual(appended.slice(1, 4).map((a) => a.seq));
    expect(idsOf(middle)).toEqual(appended.slice(1, 4).map((a) => a.id));

    const one = await collect({ fromSeq: appended[2]!.seq, toSeq: appended[2]!.seq });
    expect(idsOf(one)).toEqual([appended[2]!.id]);
    expect(await collect({ fromSeq: appended[3]!.seq, toSeq: appended[1]!.seq })).toEqual([]);
    const last = (await (await nc.jetstreamManager({ domain: DOMAIN })).streams.info(STREAM)).state.last_seq;
    expect(await collect({ fromSeq: last + 1 })).toEqual([]);
  });

  it("reads by stored-time range, and returns nothing for a range without events", async () => {
    const subject = subjects.reading(EDGE, "time-dev");
    const batches: { seq: number; id: string }[][] = [];
    for (let b = 0; b < 3; b++) {
      if (b > 0) await sleep(50);
      const batch: { seq: number; id: string }[] = [];
      for (let i = 0; i < 4; i++) {
        const event = reading("time-dev", b * 10 + i);
        batch.push({ seq: (await appendToStream(js, subject, event)).seq, id: event.metadata.id });
      }
      batches.push(batch);
    }
    // The times the stream stored them (not our clock).
    const storedAt = new Map<number, number>();
    await within(
      (async () => {
        for await (const m of readMessages(nc, { stream: STREAM, domain: DOMAIN, fromSeq: batches[0]![0]!.seq, toSeq: batches[2]!.at(-1)!.seq })) {
          storedAt.set(m.seq, m.storedAtNanos);
        }
      })(),
    );
    const nanos = (seq: number) => storedAt.get(seq)!;
    const ms = (n: number) => Math.floor(n / 1_000_000);
    const [first, middle, last] = batches as [typeof batches[0], typeof batches[0], typeof batches[0]];
    // The batches do not share a millisecond, so a millisecond range can isolate the middle one.
    expect(ms(nanos(first.at(-1)!.seq))).toBeLessThan(ms(nanos(middle[0]!.seq)));
    expect(ms(nanos(middle.at(-1)!.seq))).toBeLessThan(ms(nanos(last[0]!.seq)));

    const since = new Date(ms(nanos(middle[0]!.seq)));
    const until = new Date(ms(nanos(middle.at(-1)!.seq)));
    const inRange = await collect({ since, until });
    expect(idsOf(inRange)).toEqual(middle.map((m) => m.id));

    // Between the first and the middle batch: nothing was stored.
    const gapStart = new Date(ms(nanos(first.at(-1)!.seq)) + 1);
    const gapEnd = new Date(ms(nanos(middle[0]!.seq)) - 1);
    expect(gapStart.getTime()).toBeLessThanOrEqual(gapEnd.getTime());
    expect(await collect({ since: gapStart, until: gapEnd })).toEqual([]);
    // In the future: nothing yet, and the read still ends.
    const future = new Date(Date.now() + 60 * 60_000);
    expect(await collect({ since: future, until: new Date(future.getTime() + 60_000) })).toEqual([]);
  });

  it("tails the stream live: sees an event appended after the tail started, not the ones before", async () => {
    const subject = subjects.reading(EDGE, "tail-dev");
    const old = reading("tail-dev");
    await appendToStream(js, subject, old);

    const controller = new AbortController();
    const tail = tailStream(nc, { stream: STREAM, domain: DOMAIN, subject, signal: controller.signal });
    const next = tail.next();
    // The tail starts asynchronously; keep appending until it delivers one of the new events.
    const appended: string[] = [];
    let got: IteratorResult<StoredEvent> | undefined;
    void next.then((r) => (got = r));
    for (let i = 0; i < 100 && got === undefined; i++) {
      const event = reading("tail-dev", 25);
      appended.push(event.metadata.id);
      await appendToStream(js, subject, event);
      await Promise.race([next, sleep(100)]);
    }
    const first = await within(next, 5_000, "tail");
    expect(first.done).toBe(false);
    const id = (first.value as StoredEvent).event.metadata.id;
    expect(id).not.toBe(old.metadata.id);
    expect(appended).toContain(id);

    controller.abort();
    // Aborting ends the tail: it finishes instead of waiting for more events.
    const drained: StoredEvent[] = [];
    await within(
      (async () => {
        for (;;) {
          const r = await tail.next();
          if (r.done) return;
          drained.push(r.value);
        }
      })(),
      5_000,
      "aborted tail",
    );
    expect(drained.every((e) => appended.includes(e.event.metadata.id))).toBe(true);
  });

  it("ends a live tail when its connection closes, instead of waiting for a consumer it can no longer reach", async () => {
    const own = await given.connect(EDGE);
    const subject = subjects.reading(EDGE, "closing-dev");
    await appendToStream(js, subject, reading("closing-dev"));
    const tail = tailStream(own, { stream: STREAM, domain: DOMAIN, subject, fromSeq: 1 });
    const first = await within(tail.next(), 5_000, "tail's first event");
    expect(first.done).toBe(false);
    await own.close();
    const rest = await within(
      (async () => {
        const seen: StoredEvent[] = [];
        for (;;) {
          const r = await tail.next();
          if (r.done) return seen;
          seen.push(r.value);
        }
      })(),
      10_000,
      "tail of a closed connection",
    );
    expect(rest.every((e) => e.subject === subject)).toBe(true);
  });

  it("pipelines appends through an event writer, stored in publish order", async () => {
    const writer = createEventWriter(js, { maxInFlight: 64 });
    const subject = subjects.reading(EDGE, "writer-dev");
    const events = Array.from({ length: 500 }, (_, i) => reading("writer-dev", i % 100));

    const results = await Promise.all(events.map((e) => writer.append(subject, e)));
    expect(writer.inFlight).toBe(0);
    expect(results.every((r) => r.stream === STREAM && !r.duplicate)).toBe(true);
    for (let i = 1; i < results.length; i++) expect(results[i]!.seq).toBeGreaterThan(results[i - 1]!.seq);

    const stored = await collect({ subject });
    expect(idsOf(stored)).toEqual(events.map((e) => e.metadata.id));
    expect(stored.map((e) => e.seq)).toEqual(results.map((r) => r.seq));
  });
});

describe("control feed", () => {
  it("resolves caughtUp once every stream is read to where it stood", async () => {
    await appendToStream(js, subjects.reading(EDGE, "feed-dev"), reading("feed-dev"));
    const seen: number[] = [];
    const feed = startControlFeed({ nc, streams: [STREAM], domain: DOMAIN, onEvent: (stored) => seen.push(stored.seq) });
    await within(feed.caughtUp, 10_000, "catching up");
    await feed.stop();
    expect(seen.length).toBe((await (await nc.jetstreamManager({ domain: DOMAIN })).streams.info(STREAM)).state.last_seq);
  });

  it("never resolves caughtUp once stopped before catching up: nothing a controller starts when caught up outlives a stop during start-up", async () => {
    // An empty stream: caught up as soon as the feed knows where it stands, with nothing to read.
    const empty = "INFERENCES";
    expect((await (await nc.jetstreamManager({ domain: DOMAIN })).streams.info(empty)).state.last_seq).toBe(0);
    let caughtUp = false;
    const feed = startControlFeed({ nc, streams: [empty], domain: DOMAIN, onEvent: () => undefined });
    void feed.caughtUp.then(() => (caughtUp = true));
    // Stopped at once: the request for where the stream stands is still on its way and answers after the stop.
    await feed.stop();
    await sleep(500);
    expect(caughtUp).toBe(false);
  });
});
