import { SHOW_IDS, type Finding } from "./findings.ts";

/** One stored message, as the union check sees it. */
export interface IdEntry {
  id: string;
  seq: number;
  subject: string;
  /** In a sourced copy: the sequence in the stream it came from (`Nats-Stream-Source`). */
  sourceSeq?: number;
  /** When the stream stored it (epoch ms). */
  storedAtMs?: number;
}

/** One edge's stream that the aggregate sources (its UPLINK, its REPORTS). */
export interface PartScan {
  edge: string;
  domain: string;
  stream: string;
  /** Why it could not be read; then it is not compared. */
  unreachable?: string;
  /** First sequence the edge still holds: anything older was removed by its retention. */
  firstSeq: number;
  entries: IdEntry[];
  /**
   * Messages above this sequence may still be on their way to the cloud (the
   * source had not caught up when the check gave up waiting); undefined = the
   * source had caught up, so anything missing is lost.
   */
  inFlightAbove?: number;
}

export interface AggregateScan {
  domain: string;
  stream: string;
  /** Only the messages that came from the edges (their subjects carry the edge id). */
  entries: IdEntry[];
  /** The aggregate's own removed front (seq 1..first_seq - 1); absent when it removed nothing. */
  trimmed?: AggregateTrim;
}

/** What the aggregate removed from its front, as the gap check judges it. */
export interface AggregateTrim {
  /**
   * The removed messages were stored at or before this time (epoch ms): when
   * its oldest kept message was stored, or its newest when it keeps none.
   */
  removedUpToMs: number;
  /** The retention limits that explain the removal (`frontTrim`); none: purged. */
  reasons: string[];
}

/** `tide.<family>.<edge>...`: the edge id of an edge-sourced subject. */
export const edgeOfSubject = (subject: string): string | undefined => subject.split(".")[2];

const show = (ids: readonly string[]) => ids.slice(0, SHOW_IDS);

function duplicates(entries: readonly IdEntry[]): Map<string, number[]> {
  const seqs = new Map<string, number[]>();
  for (const e of entries) {
    const list = seqs.get(e.id);
    if (list) list.push(e.seq);
    else seqs.set(e.id, [e.seq]);
  }
  return new Map([...seqs].filter(([, s]) => s.length > 1));
}

/**
 * Which of an edge's messages the aggregate's own front trim may have taken.
 * A source stores an edge's messages in the edge's order, and a trim removes
 * a prefix of the aggregate: so the edge's copies it removed are exactly
 * those below the oldest copy it still keeps (by source sequence). When it
 * keeps none, only messages the edge stored before the aggregate's removed
 * messages were stored can be among them (a copy is never stored before its
 * original; this leans on the edge's and the cloud's clocks agreeing).
 */
function removedByAggregate(aggregate: AggregateScan, edge: string): { covers: (e: IdEntry) => boolean; bound: string } | undefined {
  const trim = aggregate.trimmed;
  if (!trim) return undefined;
  let oldestKept = Number.POSITIVE_INFINITY;
  for (const e of aggregate.entries) {
    if (e.sourceSeq !== undefined && e.sourceSeq < oldestKept && edgeOfSubject(e.subject) === edge) oldestKept = e.sourceSeq;
  }
  if (Number.isFinite(oldestKept)) return { covers: (e) => e.seq < oldestKept, bound: `edge seq < ${oldestKept}` };
  const upTo = trim.removedUpToMs;
  return { covers: (e) => e.storedAtMs !== undefined && e.storedAtMs <= upTo, bound: `stored at or before ${new Date(upTo).toISOString()}` };
}

/**
 * The aggregate must hold exactly the union of its parts, by event id: every
 * edge message once (none lost, none twice), and nothing that no edge sent.
 * What an edge already dropped by retention, what the aggregate trimmed by
 * its own retention, and what is still in flight, is reported but explained.
 */
export function unionFindings(aggregate: AggregateScan, parts: readonly PartScan[]): Finding[] {
  const findings: Finding[] = [];
  const where = { domain: aggregate.domain, stream: aggregate.stream };
  const dupes = duplicates(aggregate.entries);
  if (dupes.size > 0) {
    findings.push({
      check: "union",
      severity: "violation",
      ...where,
      message: `${dupes.size} event id(s) stored more than once`,
      details: { duplicates: Object.fromEntries([...dupes].slice(0, SHOW_IDS)) },
    });
  }
  const inAggregate = new Map(aggregate.entries.map((e) => [e.id, e]));
  const known = new Set(parts.map((p) => p.edge));
  for (const part of parts) {
    const pwhere = { domain: part.domain, stream: part.stream };
    if (part.unreachable !== undefined) {
      findings.push({ check: "reach", severity: "violation", ...pwhere, message: `could not compare ${aggregate.stream} with edge ${part.edge}'s ${part.stream}: ${part.unreachable}` });
      continue;
    }
    const partDupes = duplicates(part.entries);
    if (partDupes.size > 0) {
      findings.push({ check: "union", severity: "violation", ...pwhere, message: `${partDupes.size} event id(s) stored more than once`, details: { duplicates: Object.fromEntries([...partDupes].slice(0, SHOW_IDS)) } });
    }
    const lost: IdEntry[] = [];
    const inFlight: IdEntry[] = [];
    const removed: IdEntry[] = [];
    const removedHere = removedByAggregate(aggregate, part.edge);
    const ids = new Set<string>();
    for (const e of part.entries) {
      ids.add(e.id);
      if (inAggregate.has(e.id)) continue;
      if (part.inFlightAbove !== undefined && e.seq > part.inFlightAbove) inFlight.push(e);
      else if (removedHere?.covers(e)) removed.push(e);
      else lost.push(e);
    }
    if (removed.length > 0 && removedHere) {
      const byRetention = aggregate.trimmed!.reasons.length > 0;
      findings.push({
        check: "union",
        severity: byRetention ? "warning" : "violation",
        ...where,
        message:
          `${removed.length} event(s) of edge ${part.edge}'s ${part.stream} are older than what the ${aggregate.stream} still keeps from it (${removedHere.bound}): ` +
          (byRetention ? `trimmed by retention (${aggregate.trimmed!.reasons.join(", ")})` : "removed although no retention limit was reached (purged?)"),
        details: { ids: show(removed.map((e) => e.id)), edgeSeqs: removed.slice(0, SHOW_IDS).map((e) => e.seq) },
      });
    }
    if (lost.length > 0) {
      findings.push({
        check: "union",
        severity: "violation",
        ...where,
        message: `${lost.length} event(s) of edge ${part.edge}'s ${part.stream} are missing (lost)`,
        details: { ids: show(lost.map((e) => e.id)), edgeSeqs: lost.slice(0, SHOW_IDS).map((e) => e.seq) },
      });
    }
    if (inFlight.length > 0) {
      findings.push({ check: "union", severity: "warning", ...where, message: `${inFlight.length} event(s) of edge ${part.edge}'s ${part.stream} not forwarded yet (the source had not caught up)`, details: { ids: show(inFlight.map((e) => e.id)) } });
    }
    const extra: IdEntry[] = [];
    let agedOut = 0;
    for (const e of aggregate.entries) {
      if (edgeOfSubject(e.subject) !== part.edge || ids.has(e.id)) continue;
      if (e.sourceSeq !== undefined && e.sourceSeq < part.firstSeq) agedOut++;
      else extra.push(e);
    }
    if (extra.length > 0) {
      findings.push({
        check: "union",
        severity: "violation",
        ...where,
        message: `${extra.length} event(s) attributed to edge ${part.edge} are not in its ${part.stream}`,
        details: { ids: show(extra.map((e) => e.id)), seqs: extra.slice(0, SHOW_IDS).map((e) => e.seq) },
      });
    }
    if (agedOut > 0) {
      findings.push({ check: "union", severity: "warning", ...where, message: `${agedOut} event(s) of edge ${part.edge} are older than what its ${part.stream} still keeps (seq < ${part.firstSeq}): removed there by retention` });
    }
  }
  const strangers = aggregate.entries.filter((e) => !known.has(edgeOfSubject(e.subject) ?? ""));
  if (strangers.length > 0) {
    const edges = [...new Set(strangers.map((e) => edgeOfSubject(e.subject)))];
    findings.push({ check: "union", severity: "warning", ...where, message: `${strangers.length} event(s) from edge(s) not in the topology: ${edges.join(", ")}` });
  }
  return findings;
}
