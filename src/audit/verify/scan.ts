import type { NatsConnection, StreamInfo } from "nats";
import type { TideEvent } from "../../events/index.ts";
import { envelopeOf, headerValueOf } from "../../store/message-envelope.ts";
import { forgedOriginOf, STREAM_SOURCE_HEADER } from "../../store/source-origin.ts";
import { decodeStored, readBatches } from "../../store/read-stream.ts";
import { SHOW_IDS, type Finding } from "./findings.ts";
import type { IdEntry } from "./union.ts";

/** `Nats-Stream-Source: UPLINK:6LmyhmDQ 42` → 42: the message's sequence in the stream it was sourced from. */
export function sourceSeqOf(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seq = Number(header.trim().split(/\s+/)[1]);
  return Number.isInteger(seq) && seq > 0 ? seq : undefined;
}

export interface ScanOptions {
  /** Collect the event id of every message whose subject passes this filter (for the union check). */
  collectIds?: (subject: string) => boolean;
  /** Also read where each collected message was sourced from. */
  sourceSeqs?: boolean;
  /** Every valid event, as it is read. */
  onEvent?: (event: TideEvent, seq: number) => void;
  fromSeq?: number;
  /** Check that every sourced message came from the edge its subject names (`forgedOrigin`). */
  origins?: boolean;
}

export interface StreamScan {
  /** Messages read. */
  messages: number;
  lastSeq: number;
  entries: IdEntry[];
  /** Schema violations (at most SHOW_IDS in details; the count is exact). */
  invalid: Finding | undefined;
  /** Sourced messages whose origin was checked. */
  sourced: number;
  /** Sourced messages under another edge's subjects (at most SHOW_IDS in details; the count is exact). */
  forged: Finding | undefined;
}

/** Read a whole stream once: check every message against its schema and collect what the other checks need. */
export async function scanStream(nc: NatsConnection, domain: string, stream: string, options: ScanOptions = {}): Promise<StreamScan> {
  const { collectIds, sourceSeqs = false, onEvent, fromSeq, origins = false } = options;
  const scan: StreamScan = { messages: 0, lastSeq: 0, entries: [], invalid: undefined, sourced: 0, forged: undefined };
  const bad: Array<{ seq: number; subject: string; reason: string; message: string }> = [];
  let badCount = 0;
  const forged: Array<{ seq: number; subject: string; why: string }> = [];
  let forgedCount = 0;
  for await (const batch of readBatches(nc, { stream, domain, ...(fromSeq ? { fromSeq } : {}) })) {
    for (const m of batch) {
      const seq = m.seq;
      scan.messages++;
      scan.lastSeq = seq;
      const decoded = decodeStored(m);
      const sourceHeader = origins ? headerValueOf(m, STREAM_SOURCE_HEADER) : undefined;
      if (sourceHeader !== undefined) {
        scan.sourced++;
        const why = forgedOriginOf(m.subject, sourceHeader);
        if (why !== undefined) {
          forgedCount++;
          if (forged.length < SHOW_IDS) forged.push({ seq, subject: m.subject, why });
        }
      }
      let id: string | undefined;
      if (decoded.success) {
        id = decoded.event.metadata.id;
        onEvent?.(decoded.event, seq);
      } else {
        badCount++;
        if (bad.length < SHOW_IDS) bad.push({ seq, subject: m.subject, reason: decoded.reason, message: decoded.message });
        id = envelopeOf(m)?.id || m.headers?.get("Nats-Msg-Id") || undefined;
      }
      if (collectIds?.(m.subject)) {
        const entry: IdEntry = { id: id ?? `(no id, seq ${seq})`, seq, subject: m.subject, storedAtMs: m.storedAtMs };
        if (sourceSeqs) {
          const sourceSeq = sourceSeqOf(m.headers?.get("Nats-Stream-Source"));
          if (sourceSeq !== undefined) entry.sourceSeq = sourceSeq;
        }
        scan.entries.push(entry);
      }
    }
  }
  if (badCount > 0) {
    scan.invalid = { check: "schema", severity: "violation", domain, stream, message: `${badCount} stored message(s) are not valid events`, details: { first: bad } };
  }
  if (forgedCount > 0) {
    scan.forged = { check: "origin", severity: "violation", domain, stream, message: `${forgedCount} message(s) sourced from one edge under another edge's subjects`, details: { first: forged } };
  }
  return scan;
}

/** Every stream of a domain, with the sequences deleted from its middle. */
export async function streamInfos(nc: NatsConnection, domain: string): Promise<StreamInfo[]> {
  const jsm = await nc.jetstreamManager({ domain });
  const names: string[] = [];
  for await (const info of jsm.streams.list()) names.push(info.config.name);
  const infos: StreamInfo[] = [];
  for (const name of names.sort()) infos.push(await jsm.streams.info(name, { deleted_details: true }));
  return infos;
}
