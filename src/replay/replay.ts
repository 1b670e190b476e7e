import type { NatsConnection } from "nats";
import { CE } from "../events/envelope.ts";
import { decodeStored, readBatches, storedAtOf, type ReadOptions, type StreamMessage } from "../store/read-stream.ts";
import { envelopeOf } from "../store/message-envelope.ts";
import type { ReplayLine } from "./format.ts";

const decoder = new TextDecoder();

/** A stored message as a replay line: the event when it is valid, the raw body and the reason when not. */
export function replayLineOf(m: StreamMessage): ReplayLine {
  const seq = m.seq;
  const storedAt = storedAtOf(m.storedAtMs);
  const decoded = decodeStored(m);
  if (decoded.success) {
    const { event } = decoded;
    return { seq, subject: m.subject, storedAt, type: event.type, id: event.metadata.id, valid: true, data: event.data };
  }
  const attributes = envelopeOf(m);
  return {
    seq,
    subject: m.subject,
    storedAt,
    type: attributes?.type ?? m.headers?.get(CE.type) ?? "",
    id: attributes?.id ?? "",
    valid: false,
    data: decoder.decode(m.data),
    error: decoded.message,
  };
}

/** How far a replay has got: messages read, and how many it reads in all when that can be known in advance. */
export interface ReplayProgress {
  read: number;
  /** Undefined when it cannot be known: a time bound (`until`) inside the stream, or a sequence bound with a subject filter. */
  total?: number;
}

/** The stream's end when the replay began (bounds past it cut nothing). */
export interface StreamEnd {
  lastSeq: number;
  /** When the last message was stored (epoch ms). */
  lastStoredAtMs: number;
}

/**
 * How many messages a read takes in all, seen after its latest message (its
 * sequence and the consumer's pending count: matching messages after it, up
 * to the stream's end now). A sequence bound cuts the pending count exactly
 * when every message counts (no subject filter); a time bound inside the
 * stream cannot be turned into a count without reading, so then there is no total.
 */
export function replayTotal(read: number, last: { seq: number; pending: number }, bounds: Pick<ReadOptions, "subject" | "toSeq" | "until">, end: StreamEnd): number | undefined {
  if (bounds.until !== undefined && bounds.until.getTime() < end.lastStoredAtMs) return undefined;
  const cutBySeq = bounds.toSeq !== undefined && bounds.toSeq < end.lastSeq;
  if (cutBySeq && bounds.subject !== undefined) return undefined;
  // Messages stored since the read began are not read; sequences bound what is left either way.
  const left = Math.min(last.pending, Math.max(0, (cutBySeq ? bounds.toSeq! : end.lastSeq) - last.seq));
  return read + left;
}

export interface ReplayOptions extends ReadOptions {
  /** Called after each batch. */
  onProgress?: (progress: ReplayProgress) => void;
}

/**
 * A stream's messages as replay lines, a batch at a time, in stream order
 * (by subject, sequence range and time range; see `readBatches`). Invalid
 * messages are yielded too (`valid: false`): a replay shows what is stored.
 */
export async function* replayLines(nc: NatsConnection, options: ReplayOptions): AsyncGenerator<ReplayLine[]> {
  const { onProgress, stream, domain } = options;
  let end: StreamEnd | undefined;
  if (onProgress) {
    const jsm = await nc.jetstreamManager(domain ? { domain } : {});
    const { state } = await jsm.streams.info(stream);
    end = { lastSeq: state.last_seq, lastStoredAtMs: Date.parse(state.last_ts) };
  }
  let read = 0;
  for await (const batch of readBatches(nc, options)) {
    const lines = new Array<ReplayLine>(batch.length);
    for (let i = 0; i < batch.length; i++) lines[i] = replayLineOf(batch[i]!);
    read += batch.length;
    if (onProgress && end) {
      const last = batch[batch.length - 1]!;
      const total = replayTotal(read, { seq: last.seq, pending: last.pending }, options, end);
      onProgress(total === undefined ? { read } : { read, total });
    }
    yield lines;
  }
}
