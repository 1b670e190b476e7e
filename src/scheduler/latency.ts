import { line, predict, type Fit } from "./fit.ts";
import { dataPlaceOf, localKey, perfKey, placeOf, type Candidate, type Estimate, type NodeInfo, type SchedulerConfig, type SchedulerState, type TaskSpec } from "./types.ts";

/** Work already on a node, as the queue model sees it. */
export interface QueuedWork {
  priority: number;
  cpu: number;
  memoryMb: number;
  /** Estimated time still to run, ms. */
  remainingMs: number;
  started: boolean;
}

/** An estimate with where its terms came from, for the candidate's reason. */
export interface LatencyEstimate extends Estimate {
  computeBasis: NonNullable<Candidate["computeBasis"]>;
  /** How the transmit term was reached, for the candidate's reason. */
  transmitWhy: string;
}

const MB = 1_000_000;

/**
 * One link's transfer time for `mb` megabytes: its learned line (fixed cost +
 * MB over measured bandwidth); with fewer transfers measured, their mean time
 * per MB plus the round trip; with none, the round trip plus the assumed bandwidth.
 */
function linkMs(fit: Fit | undefined, mb: number, rttMs: number, defaultBps: number): { ms: number; why: string } {
  const fitted = fit ? line(fit) : undefined;
  if (fitted) return { ms: fitted.intercept + fitted.slope * mb, why: `measured ${fitted.intercept.toFixed(1)} ms + ${fitted.slope.toFixed(1)} ms/MB` };
  if (fit && fit.sx > 0) {
    const perMb = Math.max(0, fit.sy - fit.w * rttMs) / fit.sx;
    return { ms: rttMs + perMb * mb, why: `RTT ${rttMs.toFixed(1)} ms + ${perMb.toFixed(1)} ms/MB (${fit.n} transfer${fit.n === 1 ? "" : "s"} measured)` };
  }
  return { ms: rttMs + ((mb * MB) / defaultBps) * 1000, why: `RTT ${rttMs.toFixed(1)} ms + ${(defaultBps / MB).toFixed(2)} MB/s (assumed)` };
}

/**
 * T_transmit: the data's size over the links between where the data is and
 * where the node is, with their round trips, from what transfers on those
 * links measured. Data on the node's own place crosses no link: only its local
 * read counts (fast). Edge to cloud is one link (the edge's uplink); edge to
 * another edge is two, through the hub: the slower one plus the other's RTT.
 */
export function transmitEstimate(spec: TaskSpec, node: NodeInfo, state: SchedulerState, config: SchedulerConfig): { ms: number; why: string } {
  const from = dataPlaceOf(spec);
  const bytes = spec.data?.bytes ?? 0;
  const to = placeOf(node);
  if (from === undefined || bytes === 0) return { ms: 0, why: "no data to move" };
  const mb = bytes / MB;
  const size = `${mb.toFixed(2)} MB`;
  if (from === to) {
    const local = linkMs(state.links.get(localKey(to)), mb, 0, config.defaultLocalBandwidthBps);
    return { ms: local.ms, why: `data already ${to === "cloud" ? "in the cloud" : `on edge ${to}`} (${size}): local read, ${local.why}` };
  }
  const rtt = (edge: string) => (edge === node.edge ? node.rttMs : edgeRtt(state, edge)) ?? config.defaultRttMs;
  const hops = [from, to].filter((place) => place !== "cloud").map((edge) => ({ edge, rtt: rtt(edge), ...linkMs(state.links.get(edge), mb, rtt(edge), config.defaultBandwidthBps) }));
  const slowest = hops.reduce((a, b) => (b.ms > a.ms ? b : a));
  const ms = slowest.ms + hops.filter((h) => h !== slowest).reduce((sum, h) => sum + h.rtt, 0);
  return { ms, why: `${size} ${from}→${to}: ${hops.map((h) => `link ${h.edge} ${h.why}`).join("; ")}` };
}

function edgeRtt(state: SchedulerState, edge: string): number | undefined {
  for (const n of state.nodes.values()) if (n.kind === "edge" && n.edge === edge && n.rttMs !== undefined) return n.rttMs;
  return undefined;
}

/** T_compute: this node's measured speed for the kind, else the fleet's, else the kind's prior. */
export function computeEstimate(spec: TaskSpec, node: NodeInfo, state: SchedulerState, config: SchedulerConfig): { ms: number; basis: LatencyEstimate["computeBasis"] } {
  const mb = (spec.data?.bytes ?? 0) / MB;
  const own = state.perf.get(perfKey(node.node, spec.kind));
  const learned = own ? predict(own, mb) : undefined;
  if (learned !== undefined) return { ms: learned, basis: "learned" };
  const fleet = state.fleetPerf.get(spec.kind);
  const pooled = fleet ? predict(fleet, mb) : undefined;
  if (pooled !== undefined) return { ms: pooled, basis: "fleet" };
  const prior = config.priors[spec.kind] ?? config.defaultPrior;
  return { ms: prior.fixedMs + prior.msPerMB * mb, basis: "prior" };
}

/**
 * T_queue: when the node can start a task of this priority, simulating its
 * queue: running work keeps its CPUs until its estimate runs out; queued work of
 * the same or higher priority starts first (the worker takes the highest
 * priority first); lower-priority queued work waits behind the new task.
 */
export function queueEstimate(work: readonly QueuedWork[], cpus: number, task: { priority: number; cpu: number }): number {
  // Finish times of what holds CPUs, kept sorted; `free` CPUs at time `now`.
  const finishes: { at: number; cpu: number }[] = [];
  let free = cpus;
  let now = 0;
  const ahead: QueuedWork[] = [];
  for (const w of work) {
    if (w.started) {
      free -= w.cpu;
      insertFinish(finishes, w.remainingMs, w.cpu);
    } else if (w.priority >= task.priority) ahead.push(w);
  }
  ahead.sort((a, b) => b.priority - a.priority);
  for (const w of ahead) {
    while (free < Math.min(w.cpu, cpus) && finishes.length > 0) {
      const next = finishes.shift()!;
      now = Math.max(now, next.at);
      free += next.cpu;
    }
    free -= w.cpu;
    insertFinish(finishes, now + w.remainingMs, w.cpu);
  }
  while (free < Math.min(task.cpu, cpus) && finishes.length > 0) {
    const next = finishes.shift()!;
    now = Math.max(now, next.at);
    free += next.cpu;
  }
  return now;
}

function insertFinish(finishes: { at: number; cpu: number }[], at: number, cpu: number): void {
  let i = finishes.length;
  while (i > 0 && finishes[i - 1]!.at > at) i--;
  finishes.splice(i, 0, { at, cpu });
}

/** T_delay = T_transmit + T_compute + T_queue for `spec` on `node`, given its T_queue (`queueEstimate`). */
export function estimateOn(spec: TaskSpec, node: NodeInfo, queueMs: number, state: SchedulerState, config: SchedulerConfig): LatencyEstimate {
  const transmit = transmitEstimate(spec, node, state, config);
  const compute = computeEstimate(spec, node, state, config);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    transmitMs: round(transmit.ms),
    computeMs: round(compute.ms),
    queueMs: round(queueMs),
    totalMs: round(transmit.ms + compute.ms + queueMs),
    computeBasis: compute.basis,
    transmitWhy: transmit.why,
  };
}
