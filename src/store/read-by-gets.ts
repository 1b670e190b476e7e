import type { JetStreamManager, MsgRequest, NatsConnection, StoredMsg } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { isNoMessage } from "./api-errors.ts";
import type { ReadOptions } from "./read-stream.ts";
import { StreamMessage } from "./stream-message.ts";

/**
 * Connections that may read a domain only through message gets: an edge's
 * connections reading the cloud. The hub gives an edge's account the cloud's
 * stream info and message gets, never a consumer (src/topology/auth.ts,
 * `edgeCloudApi`), so `readBatches` reads those streams here instead.
 */
const getsOnly = new WeakMap<NatsConnection, Set<string>>();

/** From now on `nc` reads `domain` through message gets (`readBatches` does so by itself). */
export function readThroughGets(nc: NatsConnection, domain: string): void {
  const domains = getsOnly.get(nc) ?? new Set<string>();
  domains.add(domain);
  getsOnly.set(nc, domains);
}

/** Whether `nc` reads `domain` through message gets. */
export function readsThroughGets(nc: NatsConnection, domain: string | undefined): boolean {
  return domain !== undefined && (getsOnly.get(nc)?.has(domain) ?? false);
}

/** Gets in flight at once while catching up (a stream read without a subject filter). */
const WINDOW = 64;
/** A live tail asks again this long after finding nothing, doubling up to `POLL_MAX_MS` while nothing comes. */
const POLL_MIN_MS = 50;
const POLL_MAX_MS = 250;
/** A bounded read gives up after this many failed gets in a row; a live tail keeps trying. */
const BOUNDED_ATTEMPTS = 6;
const RETRY_MAX_MS = 5_000;

/** Stored time of a get's `time` (RFC 3339 with nanoseconds): milliseconds, and nanoseconds within the millisecond. */
export function storedTimeOf(time: string): { ms: number; subMs: number } {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) return { ms: Date.parse(time), subMs: 0 };
  const fraction = (match[2] ?? "").padEnd(9, "0").slice(0, 9);
  return { ms: Date.parse(`${match[1]}.${fraction.slice(0, 3)}${match[3]}`), subMs: Number(fraction.slice(3)) };
}

function streamMessageOf(m: StoredMsg, known: number): StreamMessage {
  const { ms, subMs } = storedTimeOf(m.timestamp);
  return new StreamMessage({ subject: m.subject, headers: m.header, data: m.data }, m.seq, 0, ms, Math.max(0, known - m.seq), subMs);
}

/**
 * A message get by sequence, or the next message from `seq` on `next_by_subj`.
 * A get that found nothing is `undefined`; anything else that failed throws.
 */
export async function getMessage(jsm: JetStreamManager, stream: string, query: { seq: number; next_by_subj?: string }): Promise<StoredMsg | undefined> {
  try {
    // nats.js types only the get by sequence and by last subject; the server (2.9+) takes next_by_subj too.
    return await jsm.streams.getMessage(stream, query as MsgRequest);
  } catch (error) {
    if (isNoMessage(error)) return undefined;
    throw error;
  }
}

/**
 * `readBatches` through message gets: the same messages in the same order,
 * for a reader that may not create consumers. Without a subject filter it
 * gets up to 64 sequences at once (a sequence that answers "no message" was
 * deleted); with one, the next matching message, one at a time. A live tail
 * (`follow`) asks for the next message again 50 ms after finding none,
 * backing off to every 250 ms while nothing comes. Each message costs one
 * round trip, so this is for the control streams and task data an edge reads
 * from the cloud, not for bulk reads.
 */
export async function* readBatchesByGets(nc: NatsConnection, options: ReadOptions): AsyncGenerator<StreamMessage[]> {
  const { stream, domain, subject, fromSeq, toSeq, since, until, follow = false, batch = 1000, signal } = options;
  if (signal?.aborted) return;
  const jsm = await nc.jetstreamManager(domain ? { domain } : {});
  const { state } = await jsm.streams.info(stream);
  const end = follow ? Number.POSITIVE_INFINITY : Math.min(toSeq ?? Number.POSITIVE_INFINITY, state.last_seq);
  let next = Math.max(fromSeq ?? 1, state.first_seq, 1);
  if (!follow && (state.messages === 0 || next > end)) return;
  const sinceMs = since ? since.getTime() : Number.NEGATIVE_INFINITY;
  const untilMs = until ? until.getTime() : Number.POSITIVE_INFINITY;
  /** The highest sequence known to exist. */
  let known = state.last_seq;
  let pollMs = POLL_MIN_MS;
  let failures = 0;
  const wait = (ms: number) => sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

  while (!signal?.aborted && next <= end) {
    let found: StoredMsg[];
    try {
      if (next > known || subject) {
        // The next message (matching the filter), wherever it is: also how a live tail learns of new ones.
        const first = await getMessage(jsm, stream, { seq: next, next_by_subj: subject ?? ">" });
        found = first ? [first] : [];
        if (first && subject) {
          // Go on along the filter for up to a batch while the messages are known to exist.
          while (found.length < Math.min(batch, WINDOW) && found.at(-1)!.seq < Math.min(known, end)) {
            const more = await getMessage(jsm, stream, { seq: found.at(-1)!.seq + 1, next_by_subj: subject });
            if (!more) break;
            found.push(more);
          }
        }
        // Nothing on the filter up to the stream's end: go on from past it.
        if (!first && subject) next = Math.max(next, known + 1);
      } else {
        const upTo = Math.min(known, end, next + Math.min(batch, WINDOW) - 1);
        const seqs = Array.from({ length: upTo - next + 1 }, (_, i) => next + i);
        found = (await Promise.all(seqs.map((seq) => getMessage(jsm, stream, { seq })))).filter((m): m is StoredMsg => m !== undefined);
        next = upTo + 1;
      }
      failures = 0;
    } catch (error) {
      if (signal?.aborted) return;
      if (!follow && ++failures >= BOUNDED_ATTEMPTS) throw error;
      await wait(Math.min(RETRY_MAX_MS, 250 * 2 ** Math.min(failures, 5)));
      continue;
    }
    if (found.length === 0) {
      if (!follow) {
        if (next > known) break;
        continue;
      }
      await wait(pollMs);
      pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
      continue;
    }
    pollMs = POLL_MIN_MS;
    const last = found.at(-1)!;
    known = Math.max(known, last.seq);
    next = Math.max(next, last.seq + 1);
    const taken: StreamMessage[] = [];
    let finished = false;
    for (const m of found) {
      if (m.seq > end) {
        finished = true;
        break;
      }
      const message = streamMessageOf(m, known);
      if (message.storedAtMs > untilMs) {
        finished = !follow;
        break;
      }
      if (message.storedAtMs >= sinceMs) taken.push(message);
    }
    if (taken.length > 0) yield taken;
    if (finished) return;
  }
}
