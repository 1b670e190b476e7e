import type { ActiveTask, Decision, RescheduleReason, SchedulerConfig, SchedulerState } from "./types.ts";

/** Backoff before the attempt after `attempt`: doubling from the base, capped. */
export function backoffMs(attempt: number, config: SchedulerConfig): number {
  return Math.min(config.backoffMaxMs, config.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** How long an attempt may take from its assignment before it counts as overrun. */
export function allowanceMs(task: ActiveTask, config: SchedulerConfig): number {
  const estimate = task.estimate?.totalMs ?? 0;
  return Math.max(config.overrunFactor * estimate, estimate + config.overrunSlackMs);
}

/** Why the current attempt of `task` must end now, or undefined while it is fine. */
function trouble(task: ActiveTask, state: SchedulerState, now: number, config: SchedulerConfig): { reason: RescheduleReason; detail: string; retryable: boolean } | undefined {
  if (task.phase === "ended") {
    return { reason: "failed", detail: task.failure?.reason ?? "failed", retryable: task.failure?.retryable ?? true };
  }
  if (task.phase !== "assigned" && task.phase !== "running") return undefined;
  const node = task.node ? state.nodes.get(task.node) : undefined;
  if (!node || node.lost) return { reason: "node_lost", detail: `${task.node} was declared lost ${task.phase === "running" ? "while running it" : "before starting it"}`, retryable: true };
  const elapsed = now - (task.assignedAt ?? now);
  const allowed = allowanceMs(task, config);
  if (elapsed > allowed) {
    return {
      reason: "deadline_overrun",
      detail: `${task.phase} on ${task.node} for ${(elapsed / 1000).toFixed(1)} s; estimate ${((task.estimate?.totalMs ?? 0) / 1000).toFixed(1)} s, allowed ${(allowed / 1000).toFixed(1)} s`,
      retryable: true,
    };
  }
  return undefined;
}

/**
 * Monitoring: every attempt that was lost with its node, failed, or overran
 * its allowance is rescheduled (after a backoff) or, with its attempts spent or
 * a failure no retry can fix, abandoned. Each decision says why.
 */
export function supervise(state: SchedulerState, now: number, config: SchedulerConfig): Decision[] {
  const decisions: Decision[] = [];
  for (const task of state.tasks.values()) {
    const problem = trouble(task, state, now, config);
    if (!problem) continue;
    const { taskId } = task.spec;
    const fromNode = task.node ?? "unknown";
    if (!problem.retryable || task.attempt >= config.maxAttempts) {
      const why = problem.retryable ? `${problem.detail}; all ${config.maxAttempts} attempts spent` : `${problem.detail}; not retryable`;
      decisions.push({
        taskId,
        expectedSeq: task.lastSeq,
        event: { type: "tide.task.abandoned.v1", data: { taskId, attempts: task.attempt, reason: problem.reason, detail: why, ...(task.node ? { lastNode: task.node } : {}) } },
      });
      continue;
    }
    decisions.push({
      taskId,
      expectedSeq: task.lastSeq,
      event: {
        type: "tide.task.rescheduled.v1",
        data: { taskId, fromNode, attempt: task.attempt, reason: problem.reason, detail: problem.detail, notBefore: new Date(now + backoffMs(task.attempt, config)).toISOString() },
      },
    });
  }
  return decisions;
}
