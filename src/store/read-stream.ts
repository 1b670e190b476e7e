import { ConsumerEvents, type Consumer, type ConsumerMessages, type JsMsg, type MsgHdrs, type NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
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
 * How long a pull waits before the server ends it (a fresh pull follows at
 * once). An idle consumer answers every pull when it expires, so a read that
 * hears nothing at all (no message, no pull ending) for `SILENCE_LIMIT_MS` has
 * lost its consumer.
 */
const PULL_EXPIRES_MS = 5_000;
const SILENCE_LIMIT_MS = 2.5 * PULL_EXPIRES_MS;
/** How often a read checks how long it has heard nothing. */
const WATCH_INTERVAL_MS = 2_500;
/**
 * Longest wait for a consumer to be created. nats.js retries a create that
 * times out for minutes, and in a cluster with a server down the create can
 * keep timing out: a consumer placed on the down server never answers. A
 * fresh consumer (a new name) is placed anew.
 */
const OPEN_TIMEOUT_MS = 15_000;
/** Longest wait between attempts to open a replacement consumer. */
const REOPEN_BACKOFF_MAX_MS = 5_000;
/** A bounded read gives up after this many failed attempts to open a replacement consumer. */
const BOUNDED_REOPEN_ATTEMPTS = 6;

/**
 * Read a stream in order, a batch of messages at a time: whatever arrived
 * since the last batch was taken, in stream order. It pulls `batch` messages
 * per round trip through an ordered consumer and takes them in the consumer's
 * callback, so no promise is made per message (callers that process a batch
 * synchronously pay no per-message async cost). Stops at the stream's end as
 * it was when the read began, unless `follow` is set.
 *
 * An ordered consumer is an R1 consumer on one server. When that server goes
 * away (a hub server killed in a cluster) nats.js keeps asking after the lost
 * consumer and the read stalls without an error: after a reconnect it stops
 * watching heartbeats until the consumer answers again, which a consumer on a
 * dead server never does. So the read watches for itself: when it heard
 * nothing from its consumer (no message, no expired pull, which an idle
 * consumer answers every few seconds) for longer than that can take, or the
 * consumer's heartbeats stop, it drops the consumer and opens a new one after
 * the last message taken:
 * nothing skipped, nothing twice. A follow read retries that until it works or
 * is aborted; a bounded read throws after a few tries.
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
  /** Stream sequence of the last message taken (0: none yet): a replacement consumer starts after it. */
  let lastTaken = 0;
  /** When the consumer was last heard from (a message or a status: pulls ending, heartbeats missed). */
  let heardAt = Date.now();
  /** Heard from since the watchdog last looked: a flag per message (cheaper than reading the clock), a time per tick. */
  let heard = false;
  let wake: (() => void) | undefined;
  const rouse = () => {
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const take = (m: JsMsg) => {
    if (finished) return;
    const seq = m.seq;
    heard = true;
    if (seq < start || seq <= lastTaken) return;
    const info = m.info;
    if (info.timestampNanos > untilNanos || seq > end) {
      if (follow) return;
      finished = true;
    } else {
      lastTaken = seq;
      queue.push(m);
      if (!follow && (seq >= end || info.pending === 0)) finished = true;
    }
    rouse();
  };

  const js = nc.jetstream(domain ? { domain } : {});
  /** One ordered consumer and what became of it. */
  interface Reader {
    consumer: Consumer;
    messages: ConsumerMessages;
    closed: boolean;
    closedBy?: Error;
    stalled: boolean;
  }
  const open = async (): Promise<Reader> => {
    const consumer = await js.consumers.get(stream, {
      ...(subject ? { filterSubjects: subject } : {}),
      // The first consumer starts where asked; a replacement right after the last message taken.
      ...(lastTaken > 0 ? { opt_start_seq: lastTaken + 1 } : since ? { opt_start_time: since.toISOString() } : { opt_start_seq: start }),
    });
    const consuming = consumer.consume({ max_messages: batch, expires: PULL_EXPIRES_MS, callback: take });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), OPEN_TIMEOUT_MS)));
    const messages = await Promise.race([consuming, timedOut]).finally(() => clearTimeout(timer));
    if (!messages) {
      // Abandoned: whenever nats.js gets it created after all, it is closed and deleted (and any message it
      // delivers meanwhile is one already taken or one the next consumer delivers again: `take` skips it).
      consuming.then(
        (late) => {
          void late.close().catch(() => undefined);
          void consumer.delete().catch(() => undefined);
        },
        () => undefined,
      );
      throw new Error(`${stream}: no consumer created within ${OPEN_TIMEOUT_MS / 1000} s`);
    }
    const reader: Reader = { consumer, messages, closed: false, stalled: false };
    void messages.closed().then((error) => {
      reader.closed = true;
      reader.closedBy = error ?? undefined;
      rouse();
    });
    watch(reader);
    void (async () => {
      for await (const status of await messages.status()) {
        heardAt = Date.now();
        if (status.type === ConsumerEvents.HeartbeatsMissed) {
          reader.stalled = true;
          rouse();
          return;
        }
      }
    })().catch(() => undefined);
    return reader;
  };
  // While the connection is down nothing can be heard, and on a reconnect nats.js re-pulls by itself: silence only
  // counts while connected, from the moment it (re)connected.
  let disconnected = false;
  const connection = nc.status();
  void (async () => {
    for await (const s of connection) {
      if (s.type === "disconnect") disconnected = true;
      else if (s.type === "reconnect") {
        disconnected = false;
        heardAt = Date.now();
      }
    }
  })().catch(() => undefined);
  let watchdog: ReturnType<typeof setInterval> | undefined;
  /** Mark the reader stalled once nothing was heard from its consumer for too long. */
  const watch = (reader: Reader) => {
    clearInterval(watchdog);
    heardAt = Date.now();
    let lookedAt = Date.now();
    watchdog = setInterval(() => {
      const now = Date.now();
      // A late tick means this process was busy (its timers run before the socket's data is read): what arrived
      // meanwhile has not been seen yet, so the silence is not the consumer's.
      if (heard || disconnected || now - lookedAt > 2 * WATCH_INTERVAL_MS) heardAt = now;
      heard = false;
      lookedAt = now;
      if (now - heardAt > SILENCE_LIMIT_MS && !reader.closed && !reader.stalled) {
        reader.stalled = true;
        rouse();
      }
    }, WATCH_INTERVAL_MS);
    watchdog.unref();
  };
  const discard = (reader: Reader) => {
    void reader.messages.close().catch(() => undefined);
    void reader.consumer.delete().catch(() => undefined);
  };
  /** A replacement for a stalled consumer: retried with backoff (a follow read until it works or is aborted). */
  const reopen = async (): Promise<Reader | undefined> => {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return undefined;
      try {
        return await open();
      } catch (error) {
        if (!follow && attempt + 1 >= BOUNDED_REOPEN_ATTEMPTS) throw error;
        await sleep(Math.min(REOPEN_BACKOFF_MAX_MS, 250 * 2 ** attempt), undefined, signal ? { signal } : {}).catch(() => undefined);
      }
    }
  };

  let reader: Reader | undefined = await open();
  const abort = () => {
    if (reader) void reader.messages.close().catch(() => undefined);
    rouse();
  };
  signal?.addEventListener("abort", abort, { once: true });
  try {
    if (!follow) {
      const info = await reader.consumer.info(true);
      if (info.num_pending === 0) return;
    }
    for (;;) {
      if (queue.length > 0) {
        const taken = queue;
        queue = [];
        yield taken;
        continue;
      }
      if (finished || signal?.aborted) break;
      if (reader.closed) {
        if (reader.closedBy) throw reader.closedBy;
        break;
      }
      if (reader.stalled) {
        discard(reader);
        reader = await reopen();
        if (!reader) break;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    finished = true;
    clearInterval(watchdog);
    (connection as { stop?: () => void }).stop?.();
    signal?.removeEventListener("abort", abort);
    if (reader) {
      await reader.messages.close().catch(() => undefined);
      await reader.consumer.delete().catch(() => undefined);
    }
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

