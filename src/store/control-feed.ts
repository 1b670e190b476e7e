import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../errors.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { readStream, type ReadEventsOptions, type StoredEvent, type StoredMessage } from "./read-stream.ts";

/** Which control streams to follow, and what to call with each event. */
export interface ControlFeedOptions {
  nc: NatsConnection;
  /** Cloud control streams to follow from their first event (e.g. TASKS, NODES). */
  streams: readonly string[];
  /** Called for every valid event, in stream order per stream. */
  onEvent(stored: StoredEvent, stream: string): void;
  domain?: string;
  logger?: Logger;
  /** Events to leave out although they decode (`readStream`'s `refuse`): logged and skipped. */
  refuse?: ReadEventsOptions["refuse"];
}

/**
 * Follow control streams from the start and keep following them: the way a
 * controller rebuilds its state after a restart and then stays current.
 * `caughtUp` resolves once every stream has been read up to where it stood when
 * the feed started, so a controller never decides on half a history; a feed
 * stopped before that never resolves it, so nothing a controller starts once
 * caught up (its timers) outlives a stop during start-up. A failed read
 * resumes after the last event seen, with backoff.
 */
export function startControlFeed(options: ControlFeedOptions) {
  const { nc, streams, onEvent, domain = CLOUD_DOMAIN, logger = silentLogger, refuse } = options;
  const controller = new AbortController();
  let pendingStreams = streams.length;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (pendingStreams === 0) markCaughtUp();

  const follow = async (stream: string) => {
    let next = 1;
    let target: number | undefined;
    let caught = false;
    const reached = (seq: number) => {
      next = seq + 1;
      if (!caught && target !== undefined && seq >= target && !controller.signal.aborted) {
        caught = true;
        if (--pendingStreams === 0) markCaughtUp();
      }
    };
    for (let attempt = 0; !controller.signal.aborted; attempt++) {
      try {
        if (target === undefined) {
          const jsm = await nc.jetstreamManager({ domain });
          target = (await jsm.streams.info(stream)).state.last_seq;
          reached(Math.max(next - 1, 0));
        }
        for await (const stored of readStream(nc, {
          stream,
          domain,
          fromSeq: next,
          follow: true,
          signal: controller.signal,
          onInvalid: (m, failure) => {
            logger.warn({ stream, seq: m.seq, err: failure.message }, "invalid control event skipped");
            reached(m.seq);
          },
          ...(refuse
            ? {
                refuse,
                onRefused: (m: StoredMessage, why: string) => {
                  logger.warn({ stream, seq: m.seq, subject: m.subject, err: why }, "control event refused: skipped");
                  reached(m.seq);
                },
              }
            : {}),
        })) {
          onEvent(stored, stream);
          reached(stored.seq);
          attempt = 0;
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        // At start-up a stream may not exist yet (an edge starts before the cloud applies its streams): say so only if it lasts.
        logger[attempt < 3 ? "debug" : "warn"]({ stream, err: errorMessage(error) }, "control stream read failed; retrying");
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)), undefined, { signal: controller.signal }).catch(() => undefined);
      }
    }
  };
  const loops = streams.map((s) => follow(s));

  return {
    /** Resolves when every stream was read up to its end as of the start. */
    caughtUp,
    async stop(): Promise<void> {
      controller.abort();
      await Promise.all(loops);
    },
  };
}
/** A running feed. */
export type ControlFeed = ReturnType<typeof startControlFeed>;
