import type { RunRow } from "../../projections/training-runs/queries.ts";

/** What the demo sees each second when it decides about the first model. */
export interface FirstTrainingView {
  now: number;
  production: string | undefined;
  /** The newest training runs, newest first. */
  runs: ReadonlyArray<Pick<RunRow, "runId" | "status" | "published">>;
  cloudReadings: number;
}

/** What the demo remembers between decisions. */
export interface FirstTrainingState {
  /** The run the demo asked for and waits on. */
  pending: string | undefined;
  /** Runs the demo asked for that ended without a published model. */
  failed: number;
  /** No new request before this time (after a failed run). */
  retryAt: number;
}

export interface FirstTrainingSettings {
  trainAfter: number;
  /** Forced runs to try before giving up. */
  maxAttempts: number;
  /** Pause after a failed run before asking again. */
  retryAfterMs: number;
}

export type FirstTrainingStep =
  | { action: "wait" }
  | { action: "request" }
  /** A run the demo asked for ended without a model: `failed` counts it. */
  | { action: "failed"; runId: string; giveUp: boolean }
  | { action: "done" };

export const initialFirstTraining = (): FirstTrainingState => ({ pending: undefined, failed: 0, retryAt: 0 });

const inFlight = (status: RunRow["status"]) => status === "requested" || status === "running";

/**
 * The first training run, decided each second: done once a model is in
 * production; otherwise, once `trainAfter` readings reached the cloud and no
 * run is in flight, ask for one (forced). A run the demo asked for that ends
 * without a published model (failed, or not published) is retried after a
 * pause, up to `maxAttempts` runs; any earlier run that failed does not count
 * as asked.
 */
export function decideFirstTraining(view: FirstTrainingView, state: FirstTrainingState, settings: FirstTrainingSettings): FirstTrainingStep {
  if (view.production) return { action: "done" };
  if (state.pending) {
    const run = view.runs.find((r) => r.runId === state.pending);
    // Not projected yet, in flight, or published (production follows): wait for it.
    if (!run || inFlight(run.status) || (run.status === "completed" && run.published)) return { action: "wait" };
    return { action: "failed", runId: run.runId, giveUp: state.failed + 1 >= settings.maxAttempts };
  }
  if (state.failed >= settings.maxAttempts) return { action: "done" };
  if (view.runs.some((r) => inFlight(r.status))) return { action: "wait" };
  if (view.cloudReadings < settings.trainAfter || view.now < state.retryAt) return { action: "wait" };
  return { action: "request" };
}

/** The state after a step's outcome: a request sent (its run id), or a failed run counted. */
export function evolveFirstTraining(state: FirstTrainingState, outcome: { requested: string } | { failed: string; at: number }, settings: FirstTrainingSettings): FirstTrainingState {
  if ("requested" in outcome) return { ...state, pending: outcome.requested };
  return { pending: undefined, failed: state.failed + 1, retryAt: outcome.at + settings.retryAfterMs };
}
