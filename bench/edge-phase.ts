import { setTimeout as sleep } from "node:timers/promises";
import type { JetStreamManager, NatsConnection } from "nats";
import type { PhaseLatency, PhaseRange } from "./edge-latency.ts";
import { offer, wallMs, type ReadingSource } from "./edge-load.ts";
import { describeCpu, type cpuMeter, type CpuShares } from "./edge-processes.ts";

/** The edge pipeline's durable consumer on READINGS (edge-runtime/pipeline). */
const DURABLE = "edge-pipeline";

/** A step is sustained when, as the generator stops, at most this much of its offered load (in seconds of it) is still undecided. */
export const SUSTAINED_BACKLOG_SECONDS = 0.25;

interface Progress {
  /** Readings stored in the edge READINGS so far. */
  stored: number;
  /** Readings the pipeline has acked: their inference (and decision, command) stored. */
  decided: number;
}

/** One open-loop phase at a fixed rate. */
export interface PhaseRun {
  label: string;
  rate: number;
  seconds: number;
  /** Index (device counter) of the phase's first reading. */
  firstReading: number;
  sent: number;
  range: PhaseRange;
  /** Readings offered but not yet decided as the generator stopped (ingest and pipeline queues together). */
  backlogAtEnd: number;
  /** Decided per second while the generator ran. */
  decidedPerSecond: number;
  /** From the generator's stop until every reading of the phase was decided, ms (undefined: not within the limit). */
  drainMs: number | undefined;
  lost: number;
  sustained: boolean;
  cpu: CpuShares;
  worstTickGapMs: number;
}

export interface PhaseEnv {
  nc: NatsConnection;
  jsm: JetStreamManager;
  edge: string;
  source: ReadingSource;
  meter: ReturnType<typeof cpuMeter>;
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const round1 = (n: number) => Math.round(n * 10) / 10;
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Where the pipeline is, from its durable consumer (READINGS holds only this edge's readings, all matching its filter). */
async function progressOf(jsm: JetStreamManager): Promise<Progress> {
  const info = await jsm.consumers.info("READINGS", DURABLE);
  const delivered = info.delivered.stream_seq;
  return { stored: delivered + info.num_pending, decided: delivered - info.num_ack_pending };
}

/** Offer `rate` readings/s for `seconds`, then wait (up to `drainLimitMs`) until the pipeline has decided all of them. */
export async function runPhase(
  env: PhaseEnv,
  label: string,
  rate: number,
  seconds: number,
  options: { drainLimitMs: number; abortAboveBacklogSeconds?: number },
): Promise<PhaseRun> {
  const { nc, jsm, edge, source, meter } = env;
  const { drainLimitMs, abortAboveBacklogSeconds } = options;
  const before = await progressOf(jsm);
  const inferencesFrom = (await jsm.streams.info("INFERENCES")).state.last_seq + 1;
  const cpu = meter.start();
  // A step already clearly behind stops early: it has failed, and more backlog only costs time (and the runtime's memory).
  let behind = false;
  let watching = abortAboveBacklogSeconds !== undefined;
  const firstIndex = source.next;
  const watcher = (async () => {
    while (watching) {
      await sleep(250);
      if (!watching) break;
      const now = await progressOf(jsm).catch(() => undefined);
      if (now && source.next - firstIndex - (now.decided - before.decided) > rate * abortAboveBacklogSeconds!) behind = true;
    }
  })();
  const sent = await offer(nc, edge, source, rate, seconds, () => behind);
  watching = false;
  await watcher;
  await nc.flush();
  const atEnd = await progressOf(jsm);
  const shares = cpu.stop();
  const target = before.stored + sent.sent;
  const backlogAtEnd = target - atEnd.decided;
  const elapsed = (sent.endedAt - sent.startedAt) / 1000;
  let now = atEnd;
  const drainStart = wallMs();
  while (now.decided < target && wallMs() - drainStart <= drainLimitMs) {
    await sleep(50);
    now = await progressOf(jsm);
  }
  const drainMs = now.decided >= target ? wallMs() - drainStart : undefined;
  const lost = Math.max(0, target - now.stored);
  return {
    label: behind ? `${label} (stopped after ${fmt(elapsed, 1)} s: over ${abortAboveBacklogSeconds} s behind)` : label,
    rate,
    seconds: round1(elapsed),
    firstReading: sent.from,
    sent: sent.sent,
    range: { readingsFrom: before.stored + 1, readingsTo: Math.min(target, now.stored), inferencesFrom },
    backlogAtEnd,
    decidedPerSecond: (atEnd.decided - before.decided) / elapsed,
    drainMs,
    lost,
    sustained: !behind && drainMs !== undefined && lost === 0 && backlogAtEnd <= rate * SUSTAINED_BACKLOG_SECONDS,
    cpu: shares,
    worstTickGapMs: sent.worstTickGapMs,
  };
}

export function describePhase(p: PhaseRun): string {
  const drain = p.drainMs === undefined ? "not drained within the limit" : `all decided ${fmt(p.drainMs / 1000, 2)} s after the generator stopped`;
  return (
    `${int(p.rate)}/s offered for ${p.seconds} s (${int(p.sent)} readings): ${int(p.decidedPerSecond)}/s decided while offered, ` +
    `${int(Math.max(0, p.backlogAtEnd))} undecided at the end, ${drain}${p.lost ? `, ${int(p.lost)} never stored` : ""} → ` +
    `${p.sustained ? "sustained" : "not sustained"}; CPU ${describeCpu(p.cpu)}`
  );
}

export function describeLatency(l: PhaseLatency): string {
  return (
    `reading stored → decided p50 ${fmt(l.pipeline.p50, 2)} ms, p99 ${fmt(l.pipeline.p99, 2)} ms, max ${fmt(l.pipeline.max, 1)} ms over ${int(l.decided)} of ${int(l.readings)} readings; ` +
    `end to end from the device's publish p50 ${fmt(l.endToEnd.p50, 2)} ms, p99 ${fmt(l.endToEnd.p99, 2)} ms (of which publish → stored p50 ${fmt(l.ingest.p50, 2)}, p99 ${fmt(l.ingest.p99, 2)} ms); ` +
    `${int(l.byModel)} inferences by ${l.modelVersions.filter((v) => v !== "baseline").join(", ") || "no model"} (${l.backends.join(", ") || "?"}), ${int(l.byBaseline)} by the baseline; ` +
    `${int(l.decisions)} decisions, ${int(l.commands)} commands; ${int(l.offloaded)} offloaded to the cloud (${int(l.offloadUsed)} answered in time)`
  );
}
