import type { NatsConnection } from "nats";
import { decodeEvent, type EventType, type TideEvent } from "../events/index.ts";
import { readStream, type ReadOptions, type StoredEvent } from "../store/read-stream.ts";

/** A stored event of one type, narrowed. */
export type Stored<T extends EventType> = StoredEvent<TideEvent<T>>;

/** Every valid event of a read (invalid ones are verify's business, not lineage's), in stream order. */
export async function eventsOf(nc: NatsConnection, options: ReadOptions): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const stored of readStream(nc, { ...options, onInvalid: () => undefined })) out.push(stored);
  return out;
}

export function ofType<T extends EventType>(events: readonly StoredEvent[], type: T): Array<Stored<T>> {
  return events.filter((e): e is Stored<T> => e.event.type === type);
}

/** Whether a stream exists in a domain (an older topology may lack a newer stream). */
export async function hasStream(nc: NatsConnection, domain: string, stream: string): Promise<boolean> {
  const jsm = await nc.jetstreamManager({ domain });
  try {
    await jsm.streams.info(stream);
    return true;
  } catch {
    return false;
  }
}

/** One stored message by sequence, decoded; undefined when the stream no longer has it or it is not a valid event. */
export async function eventAt(nc: NatsConnection, domain: string, stream: string, seq: number): Promise<StoredEvent | undefined> {
  const jsm = await nc.jetstreamManager({ domain });
  let message;
  try {
    message = await jsm.streams.getMessage(stream, { seq });
  } catch {
    return undefined;
  }
  const decoded = decodeEvent(message.header, message.data);
  if (!decoded.success) return undefined;
  return { seq: message.seq, subject: message.subject, storedAt: message.time.toISOString(), pending: 0, event: decoded.event };
}
