import type { JsMsg, NatsConnection } from "nats";
import { CE } from "../events/envelope.ts";
import { decodeStored, readBatches, storedAtOf, type ReadOptions } from "../store/read-stream.ts";
import { envelopeOf } from "../store/message-envelope.ts";
import type { ReplayLine } from "./format.ts";

const decoder = new TextDecoder();

/** A stored message as a replay line: the event when it is valid, the raw body and the reason when not. */
export function replayLineOf(m: JsMsg): ReplayLine {
  const info = m.info;
  const seq = info.streamSequence;
  const storedAt = storedAtOf(info.timestampNanos);
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

/** How far a replay has got: messages read, and how many the read expects in all (from the consumer's pending count). */
export interface ReplayProgress {
  read: number;
  total: number;
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
  const { onProgress } = options;
  let read = 0;
  for await (const batch of readBatches(nc, options)) {
    const lines = new Array<ReplayLine>(batch.length);
    for (let i = 0; i < batch.length; i++) lines[i] = replayLineOf(batch[i]!);
    read += batch.length;
    if (onProgress) {
      const last = batch[batch.length - 1]!;
      const bySeq = options.toSeq === undefined ? Number.POSITIVE_INFINITY : Math.max(0, options.toSeq - last.seq);
      onProgress({ read, total: read + Math.min(last.info.pending, bySeq) });
    }
    yield lines;
  }
}
