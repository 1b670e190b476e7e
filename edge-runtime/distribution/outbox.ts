import type { JetStreamClient } from "nats";
import { errorMessage } from "../../src/errors.ts";
import type { TideEvent } from "../../src/events/index.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { appendToStream } from "../../src/store/append-to-stream.ts";

/** Where and how the distribution stores its own events. */
export interface OutboxOptions {
  /** JetStream of the edge's own domain: the stream that captures each subject is local. */
  js: JetStreamClient;
  logger?: Logger;
  /** Wait before retrying after a failed append (default 1000 ms). */
  retryMs?: number;
  /** Events kept while appends fail; the oldest are dropped beyond it, with a warning (default 10,000). */
  maxQueued?: number;
}

/**
 * The distribution's own appends (summaries, stats, mode changes), in order
 * and retried until stored. Each event keeps its id across retries, so a
 * retry of an append that did land is deduplicated by JetStream.
 */
export function createOutbox(options: OutboxOptions) {
  const { js, logger = silentLogger, retryMs = 1000, maxQueued = 10_000 } = options;
  const queue: { subject: string; event: TideEvent }[] = [];
  let draining: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let dropped = 0;

  async function run(): Promise<void> {
    while (queue.length) {
      const next = queue[0]!;
      try {
        await appendToStream(js, next.subject, next.event, { timeoutMs: 5000 });
        queue.shift();
      } catch (error) {
        logger.warn({ subject: next.subject, type: next.event.type, queued: queue.length, err: errorMessage(error) }, "distribution event not stored yet; will retry");
        retry ??= setTimeout(() => {
          retry = undefined;
          void drain();
        }, retryMs);
        return;
      }
    }
  }

  function drain(): Promise<void> {
    draining ??= run().finally(() => {
      draining = undefined;
    });
    return draining;
  }

  return {
    /** Queue an event for `subject` and start storing it. */
    push(subject: string, event: TideEvent): void {
      queue.push({ subject, event });
      if (queue.length > maxQueued) {
        queue.shift();
        if (dropped++ % 1000 === 0) logger.warn({ dropped, maxQueued }, "distribution outbox full: oldest events dropped");
      }
      void drain();
    },
    /** Resolve once everything queued so far is stored, or after `timeoutMs`; returns what is still queued. */
    async flush(timeoutMs = 5000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      while (queue.length && Date.now() < deadline) {
        await drain();
        if (queue.length) await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs, 200)));
      }
      return queue.length;
    },
    get queued(): number {
      return queue.length;
    },
    /** Stop retrying; anything left stays unstored. */
    close(): void {
      if (retry) clearTimeout(retry);
      retry = undefined;
    },
  };
}
/** Ordered, retried appends of distribution events. */
export type Outbox = ReturnType<typeof createOutbox>;
