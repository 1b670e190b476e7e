import type { Finding } from "./findings.ts";

/** The parts of a JetStream stream info the gap check reads (info with `deleted_details`). */
export interface StreamShape {
  created: string;
  config: { name: string; max_age: number; max_bytes: number; max_msgs: number; max_msgs_per_subject?: number };
  state: { messages: number; bytes: number; first_seq: number; last_seq: number; num_deleted?: number; deleted?: number[] };
}

/** Object Store and KV streams replace and delete messages by design: their gaps are explained. */
export const isStoreStream = (name: string) => /^(OBJ|KV)_/.test(name);

/** A stream's removed front: seq 1..`trimmed` are gone; `reasons` are the retention limits that could have removed them (none: purged). */
export interface FrontTrim {
  trimmed: number;
  reasons: string[];
}

/**
 * What a stream removed from its front, and which limits explain it. A limit
 * explains a trim only when it could have been reached: the stream is older
 * than `max_age`, or near `max_bytes` / `max_msgs` counting what was removed.
 * Undefined when nothing was removed.
 */
export function frontTrim(stream: StreamShape, now = Date.now()): FrontTrim | undefined {
  const { config, state } = stream;
  const trimmed = state.messages === 0 ? state.last_seq : state.first_seq - 1;
  if (trimmed <= 0) return undefined;
  const reasons: string[] = [];
  const ageNs = (now - Date.parse(stream.created)) * 1e6;
  if (config.max_age > 0 && ageNs > config.max_age) reasons.push(`max_age ${Math.round(config.max_age / 1e9)} s`);
  const average = state.messages > 0 ? state.bytes / state.messages : 0;
  // Messages are never bigger than the stream allows; without a size to go by (empty stream), bytes cannot be ruled out.
  if (config.max_bytes > 0 && (average === 0 || state.bytes + trimmed * average >= config.max_bytes * 0.95)) reasons.push(`max_bytes ${config.max_bytes}`);
  if (config.max_msgs > 0 && state.messages + trimmed > config.max_msgs) reasons.push(`max_msgs ${config.max_msgs}`);
  if ((config.max_msgs_per_subject ?? 0) > 0) reasons.push(`max_msgs_per_subject ${config.max_msgs_per_subject}`);
  return { trimmed, reasons };
}

/**
 * Sequence gaps of one stream. JetStream sequences are dense; a stream with
 * limits retention and DiscardOld only ever removes from the front, and only
 * when a limit (age, bytes, messages) was reached. So a hole inside the
 * range is a deleted message (unexplained), and a trimmed front is explained
 * only when a limit could have trimmed it.
 */
export function gapFindings(domain: string, stream: StreamShape, now = Date.now()): Finding[] {
  const { config, state } = stream;
  const name = config.name;
  const findings: Finding[] = [];
  const interior = state.deleted ?? [];
  const deletedCount = state.num_deleted ?? interior.length;
  if (deletedCount > 0) {
    if (isStoreStream(name)) return findings;
    findings.push({
      check: "gaps",
      severity: "violation",
      domain,
      stream: name,
      message: `${deletedCount} message(s) missing inside seq ${state.first_seq}..${state.last_seq}: deleted, no retention limit removes messages from the middle`,
      details: { deleted: interior.slice(0, 100) },
    });
  }
  const trim = frontTrim(stream, now);
  if (trim && !isStoreStream(name)) {
    const { trimmed, reasons } = trim;
    if (reasons.length > 0) {
      findings.push({ check: "gaps", severity: "warning", domain, stream: name, message: `seq 1..${trimmed} removed by retention (${reasons.join(", ")})`, details: { trimmed } });
    } else {
      const ageS = Math.round((now - Date.parse(stream.created)) / 1000);
      findings.push({
        check: "gaps",
        severity: "violation",
        domain,
        stream: name,
        message: `seq 1..${trimmed} removed although no retention limit was reached (stream ${ageS} s old, ${state.bytes} B): purged?`,
        details: { trimmed },
      });
    }
  }
  return findings;
}
