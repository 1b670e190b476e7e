import type { BenchContext } from "./context.ts";
import { measureDecisions } from "./scheduler-decisions.ts";
import { measureEstimateError } from "./scheduler-estimates.ts";
import { measureNodeLoss } from "./scheduler-loss.ts";
import type { BenchOutcome, BenchResult } from "./types.ts";

/** Tasks placed per decisions run. */
const TASKS = { full: 1000, quick: 200 } as const;

/**
 * The scheduler's figures (issue 6): decisions per second with 10 and 100
 * nodes, seconds from a node's loss until all its tasks are rescheduled, and
 * the estimate's error after warm-up. Each part runs on a fresh hub + edge.
 */
export async function schedulerBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const tasks = ctx.sizes.quick ? TASKS.quick : TASKS.full;
  const at10 = await measureDecisions(ctx, 10, tasks);
  const at100 = await measureDecisions(ctx, 100, tasks);
  const loss = await measureNodeLoss(ctx);
  const estimate = await measureEstimateError(ctx);
  return {
    title: "Scheduling (`scheduler.*`)",
    how:
      `Decisions: ${tasks} tasks submitted with no scheduler running, 10 or 100 registered nodes of varied CPUs and memory; one replica catches up, ` +
      "then the clock covers its rounds: scoring every node with the latency model (T_transmit + T_compute + T_queue, resources, priority) and " +
      "appending each `task.assigned` (every candidate's score in it) with the task subject's expected last sequence. Ceiling: the same events " +
      "appended raw, 64 in flight. Node loss: SIGKILL of a real `tide worker` process; the clock runs until all its tasks are rescheduled. " +
      "Estimate error: real tasks on an edge and a cloud worker, placed by the scheduler, one at a time; mean |estimate - actual| / actual after warm-up.",
    figures: [at10.figure, at100.figure, loss.figure, estimate.figure],
    details: [at10.detail, at100.detail, loss.detail, estimate.detail],
  };
}

/** The same figures as `bench/results.json` entries, dated: for callers outside `bench/run.ts`. */
export async function schedulerResults(ctx: BenchContext, date = new Date().toISOString()): Promise<BenchResult[]> {
  return (await schedulerBenchmark(ctx)).figures.map((f) => ({ ...f, date }));
}
