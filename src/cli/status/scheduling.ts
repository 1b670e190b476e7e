import { taskDelays, utilisation } from "../../../projections/tasks/queries.ts";
import { table, type StatusSection } from "./section.ts";

const pct = (u: number | undefined) => (u === undefined ? "-" : `${(u * 100).toFixed(1)}%`);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? "-" : v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}`);
const pair = (estimate: number | undefined, actual: number | undefined) => `${ms(estimate)}→${ms(actual)}`;

/** U_resource = T_used / T_total per node over the window. */
export const nodesSection: StatusSection = {
  name: "nodes",
  projections: ["nodes", "tasks"],
  json: (ctx) => ({ windowMs: ctx.windowMs, nodes: utilisation(ctx.db, { windowMs: ctx.windowMs, now: ctx.now }) }),
  render(ctx) {
    const nodes = utilisation(ctx.db, { windowMs: ctx.windowMs, now: ctx.now });
    const title = `Nodes: U_resource = T_used / T_total over the last ${Math.round(ctx.windowMs / 1000)} s`;
    if (nodes.length === 0) return [title, "  no nodes have registered (edge runtimes do; cloud workers: tide worker)"];
    const rows = nodes.map((n) => [n.node, n.kind, n.status, String(n.cpus), String(Math.round(n.memoryMb)), String(n.runs), pct(n.cpu), pct(n.memory), `${(n.totalMs / 1000).toFixed(0)}s`]);
    return [title, ...table(["NODE", "KIND", "STATUS", "CPUS", "MEM_MB", "RUNS", "U_CPU", "U_MEM", "ALIVE"], rows).map((l) => `  ${l}`)];
  },
};

/** The newest tasks with their T_delay breakdown: estimated at placement → measured. */
export const tasksSection: StatusSection = {
  name: "tasks",
  projections: ["tasks"],
  json: (ctx) => ({ tasks: taskDelays(ctx.db, { limit: ctx.limit }) }),
  render(ctx) {
    const tasks = taskDelays(ctx.db, { limit: ctx.limit });
    const title = `Tasks (newest ${ctx.limit}): T_delay = T_transmit + T_compute + T_queue, estimate→actual in ms`;
    if (tasks.length === 0) return [title, "  no tasks submitted (tide task submit KIND, or POST /tasks on the cloud API)"];
    const rows = tasks.map((t) => [
      t.taskId,
      t.kind,
      String(t.priority),
      t.status + (t.reschedules ? ` (${t.reschedules} resched.)` : ""),
      t.node ?? "-",
      pair(t.estimate?.transmitMs, t.actual?.transmitMs),
      pair(t.estimate?.computeMs, t.actual?.computeMs),
      pair(t.estimate?.queueMs, t.actual?.queueMs),
      pair(t.estimate?.totalMs, t.actual?.totalMs),
      ms(t.placementMs),
      ms(t.endToEndMs),
      t.deadlineMet === false ? "missed" : t.deadlineMet ? "met" : "-",
    ]);
    const lines = table(["TASK", "KIND", "PRI", "STATUS", "NODE", "TRANSMIT", "COMPUTE", "QUEUE", "T_DELAY", "PLACED_AFTER", "END_TO_END", "DEADLINE"], rows).map((l) => `  ${l}`);
    const why = tasks.filter((t) => t.lastReason && t.status !== "completed").map((t) => `  ${t.taskId}: ${t.lastReason}`);
    return [title, ...lines, ...why];
  },
};
