import type { NatsConnection } from "nats";
import { CE } from "../src/events/index.ts";
import { readMessages } from "../src/store/read-stream.ts";
import { quantile } from "./edge-load.ts";

const decoder = new TextDecoder();
const json = (data: Uint8Array): Record<string, unknown> => JSON.parse(decoder.decode(data)) as Record<string, unknown>;

/** Where a phase's readings and the pipeline's events for them sit in the edge's streams. */
export interface PhaseRange {
  /** READINGS seqs of the phase's readings, inclusive. */
  readingsFrom: number;
  readingsTo: number;
  /** First INFERENCES seq the phase may have produced. */
  inferencesFrom: number;
}

export interface PhaseLatency {
  readings: number;
  /** Readings of the phase with an inference event (every one should have one). */
  decided: number;
  /** ms, reading stored → last pipeline event for it stored (both JetStream timestamps of the edge server). */
  pipeline: { p50: number; p99: number; max: number };
  /** ms, the device's publish (the benchmark's clock) → the same end: ingest included. */
  endToEnd: { p50: number; p99: number };
  /** ms, the device's publish → the reading stored: ingest alone. */
  ingest: { p50: number; p99: number };
  /** Per reading: stored time (wall ms) and pipeline latency (ms), in READINGS order; for diagnostics. */
  samples: { storedAt: Float64Array; latency: Float64Array };
  /** Inferences by basis: the active model, or the baseline (windows too short for it). */
  byModel: number;
  byBaseline: number;
  modelVersions: string[];
  backends: string[];
  decisions: number;
  commands: number;
  offloaded: number;
  offloadUsed: number;
}

const q = (samples: Float64Array, p: number) => quantile(samples, p) ?? Number.NaN;

/**
 * Reading → decision latency of one phase, after the fact, from what the edge
 * server stored: for every reading of the phase, its JetStream stored time in
 * READINGS, and the stored times in INFERENCES of the events the pipeline
 * appended for it — its inference (`inputSeqs` ends with the reading's seq) and,
 * when the actuator changed, its decision (`readingSeq`) and command (through
 * the decision's id). The latency is from the reading's stored time to the
 * last of those. Both timestamps come from the same server clock; nothing is
 * measured in the runtime's process, and reading the streams back happens after
 * the phase, so it adds no load while the phase runs.
 */
export async function phaseLatency(nc: NatsConnection, domain: string, range: PhaseRange, sentAt: Float64Array): Promise<PhaseLatency> {
  const storedAt = new Map<number, number>();
  const sentOf = new Map<number, number>();
  for await (const m of readMessages(nc, { stream: "READINGS", domain, fromSeq: range.readingsFrom, toSeq: range.readingsTo, batch: 2000 })) {
    storedAt.set(m.seq, m.storedAtNanos / 1e6);
    const counter = json(m.data).seq;
    if (typeof counter === "number") sentOf.set(m.seq, sentAt[counter]!);
  }
  const doneAt = new Map<number, number>();
  const done = (readingSeq: number, at: number) => doneAt.set(readingSeq, Math.max(doneAt.get(readingSeq) ?? 0, at));
  const decisionReading = new Map<string, number>();
  const commands: { decisionId: string; at: number }[] = [];
  const out = { byModel: 0, byBaseline: 0, decisions: 0, commands: 0, offloaded: 0, offloadUsed: 0 };
  const versions = new Set<string>();
  const backends = new Set<string>();
  for await (const m of readMessages(nc, { stream: "INFERENCES", domain, fromSeq: range.inferencesFrom, batch: 2000 })) {
    const at = m.storedAtNanos / 1e6;
    const data = json(m.data);
    const family = m.subject.split(".")[1];
    if (family === "inference") {
      const seqs = data.inputSeqs as number[];
      const readingSeq = seqs[seqs.length - 1]!;
      if (readingSeq < range.readingsFrom || readingSeq > range.readingsTo) continue;
      done(readingSeq, at);
      if (data.modelVersion === "baseline") out.byBaseline++;
      else out.byModel++;
      versions.add(String(data.modelVersion));
      if (typeof data.backend === "string") backends.add(data.backend);
      const offload = data.offload as { used?: boolean } | undefined;
      if (offload) {
        out.offloaded++;
        if (offload.used) out.offloadUsed++;
      }
    } else if (family === "decision") {
      const readingSeq = data.readingSeq as number;
      if (readingSeq < range.readingsFrom || readingSeq > range.readingsTo) continue;
      out.decisions++;
      done(readingSeq, at);
      const id = m.headers?.get(CE.id);
      if (id) decisionReading.set(id, readingSeq);
    } else if (family === "command") {
      commands.push({ decisionId: String(data.decisionId), at });
    }
  }
  for (const c of commands) {
    const readingSeq = decisionReading.get(c.decisionId);
    if (readingSeq === undefined) continue;
    out.commands++;
    done(readingSeq, c.at);
  }
  const pipeline: number[] = [];
  const endToEnd: number[] = [];
  const ingest: number[] = [];
  const storedTimes: number[] = [];
  for (const [seq, stored] of storedAt) {
    const sent = sentOf.get(seq);
    if (sent !== undefined) ingest.push(stored - sent);
    const end = doneAt.get(seq);
    if (end === undefined) continue;
    pipeline.push(end - stored);
    storedTimes.push(stored);
    if (sent !== undefined) endToEnd.push(end - sent);
  }
  const p = Float64Array.from(pipeline);
  const e = Float64Array.from(endToEnd);
  const i = Float64Array.from(ingest);
  return {
    readings: storedAt.size,
    decided: pipeline.length,
    pipeline: { p50: q(p, 0.5), p99: q(p, 0.99), max: q(p, 1) },
    endToEnd: { p50: q(e, 0.5), p99: q(e, 0.99) },
    ingest: { p50: q(i, 0.5), p99: q(i, 0.99) },
    samples: { storedAt: Float64Array.from(storedTimes), latency: p },
    ...out,
    modelVersions: [...versions],
    backends: [...backends],
  };
}
