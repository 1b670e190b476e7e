import type { ConsumerMessages, NatsConnection } from "nats";
import { errorMessage } from "../../src/errors.ts";
import { subjects, type ReadingData } from "../../src/events/index.ts";
import { edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { edgeReadings } from "../../streams/edge/readings.ts";

/** Which READINGS to follow and whom to hand stored summary readings. */
export interface SummaryFeedOptions {
  nc: NatsConnection;
  edge: EdgeId;
  /** Called with each expected reading once it is stored, with its READINGS sequence. */
  onStored: (reading: ReadingData, seq: number, windowSeconds: number) => void;
  logger?: Logger;
  /** Expectations kept for readings that never get stored (failed appends); oldest dropped beyond it (default 100,000). */
  maxExpected?: number;
}

const decoder = new TextDecoder();

/** What identifies a reading in the decision and in the stored message alike. */
function fingerprint(r: Pick<ReadingData, "device" | "ts" | "seq" | "temperature" | "humidity">): string {
  return `${r.device}|${r.ts}|${r.seq ?? ""}|${r.temperature}|${r.humidity}`;
}

/**
 * Summaries name the READINGS sequences they cover, and a sequence exists only
 * once the reading is stored, after the routing decision. So the decision just
 * marks the reading (`expect`, one map insert on the ingest path) and this feed
 * follows the edge READINGS (`tide.reading.<edge>.*.local`, ordered consumer
 * from the current end) and hands each marked reading, with its sequence, to
 * the summarizer. A retried duplicate is stored once, so it is summarised once.
 */
export function createSummaryFeed(options: SummaryFeedOptions) {
  const { nc, edge, onStored, logger = silentLogger, maxExpected = 100_000 } = options;
  const log = logger.child({ component: "summary-feed" });
  const expected = new Map<string, number>();
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;

  async function follow(iterator: ConsumerMessages): Promise<void> {
    for await (const m of iterator) {
      if (expected.size === 0) continue;
      let reading: ReadingData;
      try {
        reading = JSON.parse(decoder.decode(m.data)) as ReadingData;
      } catch {
        continue; // ingest stores only validated readings; anything else is not ours to summarise
      }
      const key = fingerprint(reading);
      const windowSeconds = expected.get(key);
      if (windowSeconds === undefined) continue;
      expected.delete(key);
      onStored(reading, m.seq, windowSeconds);
    }
  }

  return {
    /** Mark a reading routed `summary`, before it is appended. */
    expect(reading: ReadingData, windowSeconds: number): void {
      expected.set(fingerprint(reading), windowSeconds);
      if (expected.size > maxExpected) expected.delete(expected.keys().next().value!);
    },
    /** Follow READINGS from its current end. */
    async start(): Promise<void> {
      const domain = edgeDomain(edge);
      const jsm = await nc.jetstreamManager({ domain });
      const { state } = await jsm.streams.info(edgeReadings.name);
      const consumer = await nc.jetstream({ domain }).consumers.get(edgeReadings.name, {
        filterSubjects: subjects.reading(edge, "*", "local"),
        opt_start_seq: state.last_seq + 1,
      });
      messages = await consumer.consume({ max_messages: 1000 });
      loop = follow(messages).catch((error: unknown) => log.error({ err: errorMessage(error) }, "summary feed stopped"));
    },
    /** Wait (up to `settleMs`) for marked readings still on their way, then stop following. */
    async stop(settleMs = 2000): Promise<void> {
      const deadline = Date.now() + settleMs;
      while (expected.size > 0 && loop && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await messages?.close().catch(() => undefined);
      await loop;
    },
    /** Readings routed `summary` and not seen stored yet. */
    get waiting(): number {
      return expected.size;
    },
  };
}
/** Follows stored readings routed `summary`. */
export type SummaryFeed = ReturnType<typeof createSummaryFeed>;
