import { AckPolicy, createInbox, DeliverPolicy, nanos, nuid, type ConsumerConfig, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, ValidationError } from "../errors.ts";
import type { TideEvent } from "../events/catalogue.ts";
import type { DecodeFailure } from "../events/envelope.ts";
import { isoTimeOf } from "../iso-time.ts";
import { decodeStored } from "./message-envelope.ts";
import { readAckSubject, replyBytesOf, StreamMessage, type AckInfo } from "./stream-message.ts";
import { within } from "../within.ts";
import { readBatchesByGets, readsThroughGets } from "./read-by-gets.ts";

export { decodeStored } from "./message-envelope.ts";
export { StreamMessage } from "./stream-message.ts";

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
  /** Told each time the read drops its consumer and opens a replacement, and why (for logs). */
  onReplace?: (why: string) => void;
}

/** A message as the stream holds it. */
export interface StoredMessage {
  seq: number;
  subject: string;
  /** When the stream stored it (ISO 8601). */
  storedAt: string;
  /** Stored time in milliseconds since the epoch. */
  storedAtMs: number;
  /** Stored time in nanoseconds since the epoch (a double: exact to about 256 ns). */
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

/** `storedAt` of a message: its stored time (milliseconds since the epoch) as ISO 8601. */
export function storedAtOf(ms: number): string {
  return isoTimeOf(ms);
}

/**
 * How long a pull waits before the server ends it (a fresh pull follows at
 * once). An idle consumer answers every pull when it expires, so a read that
 * hears nothing at all (no message, no pull ending) for `SILENCE_LIMIT_MS` has
 * lost its consumer.
 */
const PULL_EXPIRES_MS = 5_000;
const PULL_EXPIRES_NS = PULL_EXPIRES_MS * 1_000_000;
/**
 * A pull sent longer ago than its expiry plus this is over, answered or not:
 * nats-server 2.9.10 can drop a waiting pull without its 408 when another
 * one expires beside it (test/read-stream-pulls.spec.ts), and a read that
 * still counted it as asked for would send no more pulls.
 */
const PULL_OVER_MS = PULL_EXPIRES_MS + 1_000;
const SILENCE_LIMIT_MS = 2.5 * PULL_EXPIRES_MS;
/**
 * The server deletes a consumer nobody pulled from for this long: what is left
 * of a reader whose process died. A live reader always has a pull in flight
 * unless its caller holds two batches untaken.
 */
const CONSUMER_INACTIVE_MS = 5 * 60_000;
/** How often a read checks how long it has heard nothing. */
const WATCH_INTERVAL_MS = 1_000;
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
 * since the last batch was taken, in stream order. Stops at the stream's end
 * as it was when the read began, unless `follow` is set.
 *
 * It reads through a pull consumer of its own on a core NATS subscription
 * (an ephemeral, in-memory, ack-none consumer, as nats.js's ordered consumer
 * makes) rather than through nats.js's consumer API: each message is taken in
 * the subscription's callback and its stream sequence, stored time and
 * pending count are read from the ack subject's bytes, with no JsMsg, no
 * per-message promise and no string made for it. Pulls of `batch` messages
 * are kept in flight while fewer than two batches wait to be taken, so a slow
 * caller holds at most about three batches in memory.
 *
 * Order and completeness are checked, not assumed: the consumer numbers its
 * deliveries 1, 2, 3..., and a gap, a consumer the server no longer knows
 * (deleted, or lost with a restarted or failed server), a reconnect (pulls in
 * flight are lost with the connection), or silence (no message and no expired
 * pull, which an idle consumer answers every few seconds, for longer than that
 * can take) drops the consumer and opens a new one after the last message
 * taken: nothing skipped, nothing twice. A follow read retries that until it
 * works or is aborted; a bounded read throws after a few tries. A pull older
 * than its expiry no longer counts as asked for, even if its 408 never came
 * (`PULL_OVER_MS`), so the read pulls again on the same consumer.
 *
 * A connection that may not create consumers in `domain` (an edge's, reading
 * the cloud: `readThroughGets`) reads the same messages through message gets.
 */
export async function* readBatches(nc: NatsConnection, options: ReadOptions): AsyncGenerator<StreamMessage[]> {
  const { stream, domain, subject, fromSeq, toSeq, since, until, follow = false, batch = 1000, signal, onReplace } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`batch must be a positive integer, got ${batch}`);
  if (readsThroughGets(nc, domain)) {
    yield* readBatchesByGets(nc, options);
    return;
  }
  if (signal?.aborted) return;
  const jsm = await nc.jetstreamManager(domain ? { domain } : {});
  const { state } = await jsm.streams.info(stream);
  const end = follow ? Number.POSITIVE_INFINITY : Math.min(toSeq ?? Number.POSITIVE_INFINITY, state.last_seq);
  const start = Math.max(fromSeq ?? 1, state.first_seq, 1);
  if (!follow && (state.messages === 0 || start > end)) return;
  const untilMs = until ? until.getTime() : Number.POSITIVE_INFINITY;
  const api = domain ? `$JS.${domain}.API` : "$JS.API";
  const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;

  let queue: StreamMessage[] = [];
  /** What the ack subject of the message in hand says (one object for all of them). */
  const ack: AckInfo = { seq: 0, deliverySeq: 0, storedAtMs: 0, storedAtSubMs: 0, pending: 0 };
  /** The last message wanted was taken (or one past the bounds seen): take no more. */
  let finished = false;
  /** Stream sequence of the last message taken (0: none yet): a replacement consumer starts after it. */
  let lastTaken = 0;
  /** When the consumer was last heard from (a message or a status). */
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

  /** One consumer, its subscription and its pulls. */
  interface Reader {
    name: string;
    sub: Subscription;
    /** Messages asked for by pulls in flight. */
    requested: number;
    /** When each pull that may still be in flight was sent (oldest first). */
    pullsSentAt: number[];
    /** Delivery sequence of the last message delivered. */
    delivered: number;
    closed: boolean;
    closedBy?: Error;
    stalled: boolean;
    /** Why it stalled (`onReplace`). */
    why?: string;
  }
  let reader: Reader | undefined;
  const stall = (r: Reader, why: string) => {
    if (r.stalled || r.closed) return;
    r.stalled = true;
    r.why = why;
    rouse();
  };
  /** Keep pulls in flight while the caller keeps up: more when half of what was asked for has come. */
  const pullMore = (r: Reader) => {
    if (finished || r.stalled || r.closed || r.requested > batch || queue.length >= 2 * batch) return;
    r.requested += batch;
    r.pullsSentAt.push(Date.now());
    try {
      nc.publish(`${api}.CONSUMER.MSG.NEXT.${stream}.${r.name}`, JSON.stringify({ batch, expires: PULL_EXPIRES_NS }), { reply: r.sub.getSubject() });
    } catch (error) {
      stall(r, `pull failed: ${(error as Error).message}`);
    }
  };
  /** A status from the server instead of a message: a pull ended, a heartbeat, or the consumer is gone. */
  const onStatus = (r: Reader, m: Msg) => {
    const headers = m.headers;
    const code = headers?.code ?? 0;
    if (code === 408 || code === 404 || (code === 409 && /max ?waiting|max ?request/i.test(headers?.description ?? ""))) {
      // A pull that ended (expired, or refused as one too many): what it did not deliver is no longer asked for.
      const unfilled = Number(headers?.get("Nats-Pending-Messages") || 0);
      r.requested = Math.max(0, r.requested - (Number.isFinite(unfilled) ? unfilled : r.requested));
      pullMore(r);
    } else if (code !== 100) {
      // 503: no one answers for the consumer (gone with its server, or deleted); 409: deleted, leadership changed...
      stall(r, `consumer ${r.name}: ${code} ${headers?.description ?? ""}`.trim());
    }
  };
  const onMessage = (r: Reader, m: Msg) => {
    if (r.closed || r.stalled) return;
    heard = true;
    const reply = replyBytesOf(m);
    if (!reply || !readAckSubject(reply, ack)) return onStatus(r, m);
    if (r.requested > 0) r.requested--;
    if (ack.deliverySeq !== r.delivered + 1) return stall(r, `consumer ${r.name}: delivery ${ack.deliverySeq} after ${r.delivered}`);
    r.delivered = ack.deliverySeq;
    if (!finished) {
      const { seq } = ack;
      if (seq >= start && seq > lastTaken) {
        if (ack.storedAtMs > untilMs || seq > end) {
          if (!follow) {
            finished = true;
            rouse();
          }
        } else {
          lastTaken = seq;
          queue.push(new StreamMessage(m, seq, ack.deliverySeq, ack.storedAtMs, ack.pending, ack.storedAtSubMs));
          if (!follow && (seq >= end || ack.pending === 0)) finished = true;
          rouse();
        }
      }
    }
    pullMore(r);
  };

  /** Create a consumer after the last message taken (the first: where asked) and start pulling. */
  const open = async (): Promise<{ reader: Reader; pending: number }> => {
    const name = `tide_${nuid.next()}`;
    const config: Partial<ConsumerConfig> = {
      name,
      ack_policy: AckPolicy.None,
      max_deliver: 1,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(CONSUMER_INACTIVE_MS),
      ...(subject ? { filter_subject: subject } : {}),
      // The first consumer starts where asked; a replacement right after the last message taken.
      ...(lastTaken > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastTaken + 1 }
        : since
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start }),
    };
    const creating = jsm.consumers.add(stream, config);
    const info = await within(creating, OPEN_TIMEOUT_MS);
    if (!info) {
      // Abandoned: whenever the server creates it after all, it is deleted (and it expires when idle anyway).
      creating.then(() => jsm.consumers.delete(stream, name).catch(() => undefined), () => undefined);
      throw new Error(`${stream}: no consumer created within ${OPEN_TIMEOUT_MS / 1000} s`);
    }
    const created: Reader = { name, sub: undefined as unknown as Subscription, requested: 0, pullsSentAt: [], delivered: 0, closed: false, stalled: false };
    created.sub = nc.subscribe(createInbox(inboxPrefix), {
      callback: (error, m) => {
        if (error) {
          created.closed = true;
          created.closedBy = error;
          rouse();
          return;
        }
        onMessage(created, m);
      },
    });
    // The subscription ends with the connection (closed or drained): so does the read, as a read of a closed
    // connection cannot go on. A reader this read dropped itself is already marked closed.
    void created.sub.closed.then(() => {
      if (created.closed) return;
      created.closed = true;
      rouse();
    });
    heardAt = Date.now();
    pullMore(created);
    return { reader: created, pending: info.num_pending };
  };
  const discard = (r: Reader) => {
    r.closed = true;
    r.sub.unsubscribe();
    void jsm.consumers.delete(stream, r.name).catch(() => undefined);
  };

  // While the connection is down nothing can be heard, and the pulls in flight went with it: silence only counts
  // while connected, and a reconnect opens a fresh consumer after the last message taken.
  let disconnected = false;
  const connection = nc.status();
  void (async () => {
    for await (const s of connection) {
      if (s.type === "disconnect") disconnected = true;
      else if (s.type === "reconnect") {
        disconnected = false;
        heardAt = Date.now();
        if (reader) stall(reader, "reconnected");
      }
    }
  })().catch(() => undefined);
  let lookedAt = Date.now();
  const watchdog = setInterval(() => {
    const now = Date.now();
    // A late tick means this process was busy (its timers run before the socket's data is read): what arrived
    // meanwhile has not been seen yet, so the silence is not the consumer's.
    if (heard || disconnected || now - lookedAt > 2 * WATCH_INTERVAL_MS) heardAt = now;
    heard = false;
    lookedAt = now;
    if (reader && now - heardAt > SILENCE_LIMIT_MS) stall(reader, `nothing heard for ${Math.round((now - heardAt) / 1000)} s`);
    else if (reader) forgetEndedPulls(reader, now);
  }, WATCH_INTERVAL_MS);
  watchdog.unref();

  /** What pulls past their expiry asked for is no longer asked for, whether or not their 408 came; then pull again. */
  const forgetEndedPulls = (r: Reader, now: number) => {
    const live = r.pullsSentAt.findIndex((sentAt) => now - sentAt < PULL_OVER_MS);
    if (live === 0) return;
    r.pullsSentAt.splice(0, live === -1 ? r.pullsSentAt.length : live);
    // Usually their 408s came and took back what they asked for: then nothing changes (and no extra pull goes out).
    const asked = r.requested;
    r.requested = Math.min(r.requested, r.pullsSentAt.length * batch);
    if (r.requested < asked) pullMore(r);
  };

  /** A replacement for a stalled consumer: retried with backoff (a follow read until it works or is aborted). */
  const reopen = async (): Promise<Reader | undefined> => {
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted || nc.isClosed()) return undefined;
      try {
        return (await open()).reader;
      } catch (error) {
        if (!follow && attempt + 1 >= BOUNDED_REOPEN_ATTEMPTS) throw error;
        await sleep(Math.min(REOPEN_BACKOFF_MAX_MS, 250 * 2 ** attempt), undefined, signal ? { signal } : {}).catch(() => undefined);
      }
    }
  };

  const abort = () => {
    finished = true;
    rouse();
  };
  signal?.addEventListener("abort", abort, { once: true });
  try {
    const first = await open();
    reader = first.reader;
    if (!follow && first.pending === 0) return;
    for (;;) {
      if (queue.length > 0) {
        const taken = queue;
        queue = [];
        if (reader) pullMore(reader);
        yield taken;
        continue;
      }
      if (finished || signal?.aborted || !reader) break;
      if (reader.closed) {
        if (reader.closedBy) throw reader.closedBy;
        break;
      }
      if (reader.stalled) {
        onReplace?.(reader.why ?? "stalled");
        discard(reader);
        reader = undefined;
        reader = await reopen();
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
    if (reader && !reader.closed) discard(reader);
  }
}

/** A delivered message as a StoredMessage. */
export function storedMessageOf(m: StreamMessage): StoredMessage {
  return {
    seq: m.seq,
    subject: m.subject,
    storedAt: storedAtOf(m.storedAtMs),
    storedAtMs: m.storedAtMs,
    storedAtNanos: m.storedAtNanos,
    pending: m.pending,
    headers: m.headers,
    data: m.data,
  };
}

/**
 * Read a stream in order as an async iterator, pulling in batches (`readBatches`:
 * no round trip per message). Stops at the stream's end as it
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
  /**
   * Why a message that decodes must still not be taken (e.g. `forgedOrigin`:
   * it claims an edge it did not come from); `undefined` to take it. A refused
   * message is skipped and passed to `onRefused`.
   */
  refuse?: (message: StreamMessage) => string | undefined;
  onRefused?: (message: StoredMessage, why: string) => void;
}

/** `readMessages`, decoded and validated into events (older versions upcast). */
export async function* readStream(nc: NatsConnection, options: ReadEventsOptions): AsyncGenerator<StoredEvent> {
  const { onInvalid, refuse, onRefused } = options;
  for await (const batch of readBatches(nc, options)) {
    for (const m of batch) {
      const decoded = decodeStored(m);
      const refused = decoded.success ? refuse?.(m) : undefined;
      if (refused !== undefined) {
        onRefused?.(storedMessageOf(m), refused);
        continue;
      }
      if (!decoded.success) {
        if (onInvalid) {
          onInvalid(storedMessageOf(m), decoded);
          continue;
        }
        throw new ValidationError(`${options.stream} seq ${m.seq} (${m.subject}) is not a valid event: ${decoded.message}`, decoded.issues);
      }
      yield { seq: m.seq, subject: m.subject, storedAt: storedAtOf(m.storedAtMs), pending: m.pending, event: decoded.event };
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

