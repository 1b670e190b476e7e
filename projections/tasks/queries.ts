import type Database from "better-sqlite3";

/** U_resource = T_used / T_total of one node over a window. */
export interface NodeUtilisation {
  node: string;
  kind: string;
  status: string;
  cpus: number;
  memoryMb: number;
  /** The node's time alive inside the window (ms): T_total per unit of resource. */
  totalMs: number;
  /** Task run time inside the window, weighted by each task's CPUs (CPU-ms) and memory (MB-ms). */
  usedCpuMs: number;
  usedMemoryMbMs: number;
  /** usedCpuMs / (totalMs * cpus); undefined when the node was not alive in the window. */
  cpu: number | undefined;
  memory: number | undefined;
  /** Attempts that ran (some of the time) inside the window. */
  runs: number;
}

const overlap = (from: number, to: number, windowStart: number, windowEnd: number) => Math.max(0, Math.min(to, windowEnd) - Math.max(from, windowStart));
const tableExists = (db: Database.Database, name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?").get(name) !== undefined;

/**
 * Utilisation per node over `[now - windowMs, now]`, from the `nodes` and
 * `tasks` projections of the same database: T_total is the node's alive time
 * (its sessions) times what it offers; T_used the time its attempts ran,
 * times what each needed. An attempt still running counts up to now.
 */
export function utilisation(db: Database.Database, options: { windowMs: number; now?: number }): NodeUtilisation[] {
  if (!tableExists(db, "nodes") || !tableExists(db, "task_runs")) return [];
  const end = options.now ?? Date.now();
  const start = end - options.windowMs;
  const nodes = db.prepare<[], { node: string; kind: string; status: string; cpus: number; memory_mb: number }>("SELECT node, kind, status, cpus, memory_mb FROM nodes ORDER BY node").all();
  const sessions = db.prepare<[string], { started_at: string; ended_at: string | null }>("SELECT started_at, ended_at FROM node_sessions WHERE node = ?");
  const runs = db.prepare<[string, string], { cpu: number; memory_mb: number; started_at: string; ended_at: string | null }>(
    "SELECT cpu, memory_mb, started_at, ended_at FROM task_runs WHERE node = ? AND started_at IS NOT NULL AND (ended_at IS NULL OR ended_at >= ?)",
  );
  return nodes.map((n) => {
    const totalMs = sessions.all(n.node).reduce((sum, s) => sum + overlap(Date.parse(s.started_at), s.ended_at ? Date.parse(s.ended_at) : end, start, end), 0);
    let usedCpuMs = 0;
    let usedMemoryMbMs = 0;
    let count = 0;
    for (const r of runs.all(n.node, new Date(start).toISOString())) {
      const ms = overlap(Date.parse(r.started_at), r.ended_at ? Date.parse(r.ended_at) : end, start, end);
      if (ms <= 0) continue;
      count++;
      usedCpuMs += ms * r.cpu;
      usedMemoryMbMs += ms * r.memory_mb;
    }
    const ratio = (used: number, capacity: number) => (totalMs > 0 ? Math.round((used / (totalMs * capacity)) * 10_000) / 10_000 : undefined);
    return { node: n.node, kind: n.kind, status: n.status, cpus: n.cpus, memoryMb: n.memory_mb, totalMs, usedCpuMs, usedMemoryMbMs, cpu: ratio(usedCpuMs, n.cpus), memory: ratio(usedMemoryMbMs, n.memory_mb), runs: count };
  });
}

/** One task's T_delay, estimated at placement and measured. */
export interface TaskDelay {
  taskId: string;
  kind: string;
  priority: number;
  status: string;
  node: string | null;
  attempt: number;
  reschedules: number;
  deadlineMet: boolean | null;
  estimate: { transmitMs: number; computeMs: number; queueMs: number; totalMs: number } | null;
  actual: { transmitMs: number; computeMs: number; queueMs: number; totalMs: number } | null;
  /** From submission to the (last) assignment: time waiting for a node. */
  placementMs: number | null;
  /** From submission to completion. */
  endToEndMs: number | null;
  lastReason: string | null;
}

interface TaskRow {
  task_id: string;
  kind: string;
  priority: number;
  status: string;
  node: string | null;
  attempt: number;
  reschedules: number;
  deadline_met: number | null;
  est_transmit_ms: number | null;
  est_compute_ms: number | null;
  est_queue_ms: number | null;
  est_total_ms: number | null;
  act_transmit_ms: number | null;
  act_compute_ms: number | null;
  act_queue_ms: number | null;
  submitted_at: string;
  assigned_at: string | null;
  ended_at: string | null;
  last_reason: string | null;
}

/** The T_delay breakdown of the most recent tasks (newest first), or of one task. */
export function taskDelays(db: Database.Database, options: { limit?: number; taskId?: string } = {}): TaskDelay[] {
  if (!tableExists(db, "tasks")) return [];
  const rows = options.taskId
    ? db.prepare<[string], TaskRow>("SELECT * FROM tasks WHERE task_id = ?").all(options.taskId)
    : db.prepare<[number], TaskRow>("SELECT * FROM tasks ORDER BY submitted_at DESC, task_id LIMIT ?").all(options.limit ?? 20);
  const ms = (from: string | null, to: string | null) => (from && to ? Date.parse(to) - Date.parse(from) : null);
  return rows.map((r) => ({
    taskId: r.task_id,
    kind: r.kind,
    priority: r.priority,
    status: r.status,
    node: r.node,
    attempt: r.attempt,
    reschedules: r.reschedules,
    deadlineMet: r.deadline_met === null ? null : r.deadline_met === 1,
    estimate: r.est_total_ms === null ? null : { transmitMs: r.est_transmit_ms!, computeMs: r.est_compute_ms!, queueMs: r.est_queue_ms!, totalMs: r.est_total_ms },
    actual:
      r.act_compute_ms === null
        ? null
        : { transmitMs: r.act_transmit_ms!, computeMs: r.act_compute_ms, queueMs: r.act_queue_ms!, totalMs: Math.round((r.act_transmit_ms! + r.act_compute_ms + r.act_queue_ms!) * 10) / 10 },
    placementMs: ms(r.submitted_at, r.assigned_at),
    endToEndMs: r.status === "completed" ? ms(r.submitted_at, r.ended_at) : null,
    lastReason: r.last_reason,
  }));
}
