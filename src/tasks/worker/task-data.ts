import type { MsgHdrs, NatsConnection } from "nats";
import { decodeEvent } from "../../events/envelope.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../../ids.ts";
import { readMessages, type StoredEvent } from "../../store/read-stream.ts";
import type { TaskSpec } from "../../scheduler/types.ts";

/** What reading a task's data moved, and how long it took. */
export interface DataRead {
  events: StoredEvent[];
  bytes: number;
  ms: number;
}

function headerBytes(headers: MsgHdrs | undefined): number {
  let n = 0;
  if (!headers) return n;
  for (const key of headers.keys()) for (const value of headers.values(key)) n += key.length + value.length + 4;
  return n;
}

/**
 * Read a task's stream range from where it lives: the data's edge domain, or
 * the cloud. From the edge it is on this is a local read; from anywhere else
 * it crosses leaf links. Bytes count what moved (subject, headers and body),
 * the measure the submission sized the range with.
 */
export async function readTaskData(nc: NatsConnection, spec: TaskSpec, signal?: AbortSignal): Promise<DataRead> {
  const data = spec.data;
  if (!data || data.fromSeq === undefined || data.toSeq === undefined) return { events: [], bytes: 0, ms: 0 };
  const started = performance.now();
  const events: StoredEvent[] = [];
  let bytes = 0;
  for await (const m of readMessages(nc, {
    stream: data.stream ?? "READINGS",
    domain: data.edge ? edgeDomain(data.edge) : CLOUD_DOMAIN,
    fromSeq: data.fromSeq,
    toSeq: data.toSeq,
    ...(signal ? { signal } : {}),
  })) {
    bytes += m.data.length + m.subject.length + headerBytes(m.headers);
    const decoded = decodeEvent(m.headers, m.data);
    if (decoded.success) events.push({ seq: m.seq, subject: m.subject, storedAt: m.storedAt, pending: m.pending, event: decoded.event });
  }
  if (signal?.aborted) throw signal.reason ?? new Error("aborted");
  return { events, bytes, ms: performance.now() - started };
}
