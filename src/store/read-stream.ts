import type { JsMsg, MsgHdrs, NatsConnection } from "nats";
import { ValidationError } from "../errors.ts";
import type { TideEvent } from "../events/catalogue.ts";
import type { DecodeFailure } from "../events/envelope.ts";
import { isoTimeOf } from "../iso-time.ts";
import { decodeStored } from "./message-envelope.ts";

export { decodeStored } from "./message-envelope.ts";

export interface ReadOptions {
  stream: string;
  /** JetStream domain (`cloud`, `edge-<id>`); default: the connection's own. */
  domain?: string;
  /** One subject filter (wildcards allowed). */
  subject?: string;
  /** First stream sequence to read (inclusive). */
  fromSeq?: number;
  /** Last stream sequence to read (inclusive). */
  toSeq?: number;
  /** Only messages stored at or after this time. */
  since?: Date;
  /** Only messages stored at or before this time. */
  until?: Date;
  /** Keep reading new messages as they arrive (live tail) instead of stopping at the end. */
  follow?: boolean;
  /** Messages pulled per round trip (default 1000). */
  batch?: number;
  /** Ends the read (a live tail in particular) when aborted. */
  signal?: AbortSignal;
}

/** A message as the stream holds it. */
export interface StoredMessage {
  seq: number;
  subject: string;
  /** When the stream stored it (ISO 8601). */
  storedAt: string;
  /** Stored time in nanoseconds since the epoch (exact, for range checks). */
  storedAtNanos: number;
  /** Messages after this one that match the filter, when it was delivered. */
  pending: number;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

/** A stored message that decoded into a valid event. */
export interface StoredEvent<E extends TideEvent = TideEvent> {
  seq: number;
  subject: string;
  storedAt: string;
  pending: number;
  event: E;
}

/** `storedAt` of a message: its stored time (nanoseconds since the epoch) as ISO 8601, to the millisecond. */
export function storedAtOf(nanos: number): string {
  return isoTimeOf(Math.floor(nanos / 1_000_000));
}

/**
 * Read a stream in order, a batch of messages at a time: whatever arrived
 * since the last batch was taken, in stream order. It pulls `batch` messages
 * per round trip through an ordered consumer and takes them in the consumer's
 * callback, so no promise is made per message (callers that process a batch
 * synchronously pay no per-message async cost). Stops at the stream's end as
 * it was when the read began, unless `follow` is set.
 */
export async function* readBatches(nc: NatsConnection, options: ReadOptions): AsyncGenerator<JsMsg[]> {
  const { stream, domain, subject, fromSeq, toSeq, since, until, follow = false, batch = 1000, signal } = options;
  if (signal?.aborted) return;
  const jsm = await nc.jetstreamManager(domain ? { domain } : {});
  const { state } = await jsm.streams.info(stream);
  const end = follow ? Number.POSITIVE_INFINITY : Math.min(toSeq ?? Number.POSITIVE_INFINITY, state.last_seq);
  const start = Math.max(fromSeq ?? 1, state.first_seq, 1);
  if (!follow && (state.messages === 0 || start > end)) return;
  const untilNanos = until ? until.getTime() * 1_000_000 + 999_999 : Number.POSITIVE_INFINITY;

  let queue: JsMsg[] = [];
  /** The last message wanted was taken (or one past the bounds seen): take no more. */
  let finished = false;
  let closed = false;
  let closedBy: Error | undefined;
  let wake: (() => void) | undefined;
  const take = (m: JsMsg) => {
    if (finished) return;
    const seq = m.seq;
    if (seq < start) return;
    const info = m.info;
    if (info.timestampNanos > untilNanos || seq > end) {
      if (follow) return;
      finished = true;
    } else {
      queue.push(m);
      if (!follow && (seq >= end || info.pending === 0)) finished = true;
    }
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  };

  const js = nc.jetstream(domain ? { domain } : {});
  const consumer = await js.consumers.get(stream, {
    ...(subject ? { filterSubjects: subject } : {}),
    ...(since ? { opt_start_time: since.toISOString() } : { opt_start_seq: start }),
  });
  const messages = await consumer.consume({ max_messages: batch, callback: take });
  void messages.closed().then((error) => {
    closed = true;
    closedBy = error ?? undefined;
    wake?.();
  });
  const abort = () => void messages.close().catch(() => undefined);
  signal?.addEventListener("abort", abort, { once: true });
  try {
    if (!follow) {
      const info = await consumer.info(true);
      if (info.num_pending === 0) return;
    }
    for (;;) {
      if (queue.length > 0) {
        const taken = queue;
        queue = [];
        yield taken;
        continue;
      }
      if (finished || closed) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    if (closedBy) throw closedBy;
  } finally {
    finished = true;
    signal?.removeEventListener("abort", abort);
    await messages.close().catch(() => undefined);
    await consumer.delete().catch(() => undefined);
  }
}

/** A JetStream message as a StoredMessage. */
export function storedMessageOf(m: JsMsg): StoredMessage {
  const info = m.info;
  return {
    seq: info.streamSequence,
    subject: m.subject,
    storedAt: storedAtOf(info.timestampNanos),
    storedAtNanos: info.timestampNanos,
    pending: info.pending,
    headers: m.headers,
    data: m.data,
  };
}

/**
 * Read a stream in order as an async iterator, pulling in batches through an
 * ordered consumer (no round trip per message). Stops at the stream's end as it
 * was when the read began, unless `follow` is set.
 */
export async function* readMessages(nc: NatsConnection, options: ReadOptions): AsyncGenerator<StoredMessage> {
  for await (const batch of readBatches(nc, options)) {
    for (const m of batch) yield storedMessageOf(m);
  }
}

export interface ReadEventsOptions extends ReadOptions {
  /**
   * What to do with a stored message that is not a valid event (it should never
   * happen: appends validate). Default: throw a ValidationError.
   */
  onInvalid?: (message: StoredMessage, failure: DecodeFailure) => void;
}

/** `readMessages`, decoded and validated into events (older versions upcast). */
export async function* readStream(nc: NatsConnection, options: ReadEventsOptions): AsyncGenerator<StoredEvent> {
  const { onInvalid } = options;
  for await (const batch of readBatches(nc, options)) {
    for (const m of batch) {
      const decoded = decodeStored(m);
      const info = m.info;
      if (!decoded.success) {
        if (onInvalid) {
          onInvalid(storedMessageOf(m), decoded);
          continue;
        }
        throw new ValidationError(`${options.stream} seq ${info.streamSequence} (${m.subject}) is not a valid event: ${decoded.message}`, decoded.issues);
      }
      yield { seq: info.streamSequence, subject: m.subject, storedAt: storedAtOf(info.timestampNanos), pending: info.pending, event: decoded.event };
    }
  }
}

/** Live tail: every event from `fromSeq` (default: only new ones) as it is stored. */
export async function* tailStream(nc: NatsConnection, options: Omit<ReadEventsOptions, "follow" | "toSeq" | "until">): AsyncGenerator<StoredEvent> {
  let { fromSeq } = options;
  if (fromSeq === undefined) {
    const jsm = await nc.jetstreamManager(options.domain ? { domain: options.domain } : {});
    fromSeq = (await jsm.streams.info(options.stream)).state.last_seq + 1;
  }
  yield* readStream(nc, { ...options, fromSeq, follow: true });
}

