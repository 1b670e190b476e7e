import { estimateOn, queueEstimate, type LatencyEstimate, type QueuedWork } from "./latency.ts";
import type { ActiveTask, Candidate, Decision, NodeInfo, SchedulerConfig, SchedulerState } from "./types.ts";

interface Scored {
  node: NodeInfo;
  estimate: LatencyEstimate;
  pressure: number;
  score: number;
}

/** Ready tasks in placement order: higher priority first, then the earlier deadline, then first submitted. */
export function placementOrder(state: SchedulerState, now: number): ActiveTask[] {
  const deadline = (t: ActiveTask) => (t.spec.deadline ? Date.parse(t.spec.deadline) : Number.POSITIVE_INFINITY);
  return [...state.tasks.values()]
    .filter((t) => t.phase === "pending" && t.notBefore <= now)
    .sort((a, b) => b.spec.priority - a.spec.priority || deadline(a) - deadline(b) || a.order - b.order);
}

/** Work on each node's queue: tasks assigned to it and not finished, as the queue model sees them. */
export function queuedWork(state: SchedulerState, now: number): Map<string, QueuedWork[]> {
  const work = new Map<string, QueuedWork[]>();
  for (const t of state.tasks.values()) {
    if ((t.phase !== "assigned" && t.phase !== "running") || !t.node || !t.estimate) continue;
    const busyMs = t.estimate.transmitMs + t.estimate.computeMs;
    const remainingMs = t.phase === "running" && t.startedAt !== undefined ? Math.max(0, busyMs - (now - t.startedAt)) : busyMs;
    const list = work.get(t.node) ?? [];
    list.push({ priority: t.spec.priority, cpu: t.spec.needs.cpu, memoryMb: t.spec.needs.memoryMb, remainingMs, started: t.phase === "running" });
    work.set(t.node, list);
  }
  return work;
}

/** Why `node` cannot take `task` now, or undefined when it can. */
function ineligibility(task: ActiveTask, node: NodeInfo, work: readonly QueuedWork[], now: number, config: SchedulerConfig): string | undefined {
  const { needs, kind } = task.spec;
  if (node.lost) return "lost";
  const heartbeatMs = node.heartbeatMs ?? config.defaultHeartbeatMs;
  const silentMs = now - node.lastSeenAt;
  if (silentMs > config.staleAfterBeats * heartbeatMs) return `no heartbeat for ${(silentMs / 1000).toFixed(1)} s`;
  if (!node.kinds.includes(kind)) return `does not run '${kind}' (runs ${node.kinds.join(", ") || "nothing"})`;
  if (needs.cpu > node.cpus) return `needs ${needs.cpu} CPU, offers ${node.cpus}`;
  if (needs.memoryMb > node.memoryMb) return `needs ${needs.memoryMb} MB, offers ${node.memoryMb} MB`;
  const limit = Math.max(1, Math.floor(config.maxQueuedPerCpu * node.cpus));
  if (work.length >= limit) return `queue full: ${work.length} tasks outstanding (max ${limit})`;
  return undefined;
}

function scoreOn(task: ActiveTask, node: NodeInfo, work: readonly QueuedWork[], round: PlacementRound): Scored {
  const { state, config } = round;
  const estimate = estimateOn(task.spec, node, round.queueMs(node, task), state, config);
  const cpu = work.reduce((sum, w) => sum + w.cpu, task.spec.needs.cpu) / node.cpus;
  const memory = work.reduce((sum, w) => sum + w.memoryMb, task.spec.needs.memoryMb) / node.memoryMb;
  const pressure = Math.round(Math.min(4, Math.max(cpu, memory)) * 1000) / 1000;
  const score = Math.round(estimate.totalMs * (1 + config.pressureWeight * pressure) * 10) / 10;
  return { node, estimate, pressure, score };
}

const explain = (s: Scored): string =>
  `T_transmit ${s.estimate.transmitMs} ms (${s.estimate.transmitWhy}) + T_compute ${s.estimate.computeMs} ms (${s.estimate.computeBasis}) + T_queue ${s.estimate.queueMs} ms; pressure ${s.pressure}`;

/** One placement round: the state, its nodes in id order, their queues, and memoised T_queue per node. */
export interface PlacementRound {
  state: SchedulerState;
  nodes: readonly NodeInfo[];
  work: Map<string, QueuedWork[]>;
  now: number;
  config: SchedulerConfig;
  scheduler?: string;
  /** T_queue of a task on a node (memoised per node, priority and CPUs until the node's queue changes). */
  queueMs(node: NodeInfo, task: ActiveTask): number;
  /** Put a placed task on its node's queue. */
  enqueue(node: string, work: QueuedWork): void;
}

/** A round over `state` at `now`: nodes sorted once, T_queue memoised (the queue simulation is the costly part of scoring). */
export function placementRound(state: SchedulerState, now: number, config: SchedulerConfig, scheduler?: string): PlacementRound {
  const work = queuedWork(state, now);
  const memo = new Map<string, Map<string, number>>();
  return {
    state,
    nodes: [...state.nodes.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)),
    work,
    now,
    config,
    ...(scheduler ? { scheduler } : {}),
    queueMs(node, task) {
      const key = `${task.spec.priority}/${task.spec.needs.cpu}`;
      let byNode = memo.get(node.node);
      if (!byNode) memo.set(node.node, (byNode = new Map()));
      let ms = byNode.get(key);
      if (ms === undefined) byNode.set(key, (ms = queueEstimate(work.get(node.node) ?? [], node.cpus, { priority: task.spec.priority, cpu: task.spec.needs.cpu })));
      return ms;
    },
    enqueue(node, item) {
      const queue = work.get(node) ?? [];
      queue.push(item);
      work.set(node, queue);
      memo.delete(node);
    },
  };
}

/**
 * Place one task: score every node, choose, and say why. Among eligible nodes
 * those that meet the deadline come first, then the lowest score wins (ties:
 * node id). Nodes where an attempt ended badly are used only when nothing
 * else is eligible. Returns undefined when no node can take it (it waits).
 */
export function placeTask(task: ActiveTask, round: PlacementRound): Decision | undefined {
  const { work, now, config, scheduler } = round;
  const scored: Scored[] = [];
  const candidates: Candidate[] = [];
  const avoided: Scored[] = [];
  for (const node of round.nodes) {
    const queue = work.get(node.node) ?? [];
    const why = ineligibility(task, node, queue, now, config);
    if (why) {
      candidates.push({ node: node.node, eligible: false, reason: why });
      continue;
    }
    const s = scoreOn(task, node, queue, round);
    (task.avoid.includes(node.node) ? avoided : scored).push(s);
  }
  const pool = scored.length > 0 ? scored : avoided;
  for (const s of avoided) {
    if (pool !== avoided) candidates.push({ node: s.node.node, eligible: false, reason: `an earlier attempt ended badly here; other nodes are eligible` });
  }
  for (const s of pool) candidates.push({ node: s.node.node, eligible: true, score: s.score, estimate: stripWhy(s.estimate), pressure: s.pressure, computeBasis: s.estimate.computeBasis, reason: explain(s) });
  if (pool.length === 0) return undefined;

  const deadline = task.spec.deadline ? Date.parse(task.spec.deadline) : undefined;
  const meets = (s: Scored) => deadline === undefined || now + s.estimate.totalMs <= deadline;
  const contenders = pool.some(meets) ? pool.filter(meets) : pool;
  const best = contenders.reduce((a, b) => (b.score < a.score || (b.score === a.score && b.node.node < a.node.node) ? b : a));
  const deadlineMet = meets(best);
  const note =
    deadline === undefined || deadlineMet
      ? undefined
      : `deadline ${task.spec.deadline} cannot be met: the best estimate (${best.node.node}) finishes ${Math.round(now + best.estimate.totalMs - deadline)} ms after it`;
  return {
    taskId: task.spec.taskId,
    expectedSeq: task.lastSeq,
    event: {
      type: "tide.task.assigned.v1",
      data: {
        taskId: task.spec.taskId,
        node: best.node.node,
        attempt: task.attempt + 1,
        estimate: stripWhy(best.estimate),
        deadlineMet,
        candidates,
        ...(note ? { note } : {}),
        ...(scheduler ? { scheduler } : {}),
      },
    },
  };
}

function stripWhy(e: LatencyEstimate) {
  return { transmitMs: e.transmitMs, computeMs: e.computeMs, queueMs: e.queueMs, totalMs: e.totalMs };
}
