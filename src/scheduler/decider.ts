import { evolve, initialState } from "./evolve.ts";
import { placementOrder, placementRound, placeTask } from "./placement.ts";
import { supervise } from "./supervise.ts";
import { DEFAULT_SCHEDULER_CONFIG, type Decision, type SchedulerCommand, type SchedulerConfig, type SchedulerState } from "./types.ts";

/**
 * Placement: every ready task in priority order, each scored on every node
 * with the latency model; a task placed earlier in the same round counts in
 * the queues of the ones after it.
 */
function place(state: SchedulerState, now: number, config: SchedulerConfig, scheduler?: string): Decision[] {
  const round = placementRound(state, now, config, scheduler);
  const decisions: Decision[] = [];
  for (const task of placementOrder(state, now)) {
    const decision = placeTask(task, round);
    if (!decision || decision.event.type !== "tide.task.assigned.v1") continue;
    const { node, estimate } = decision.event.data;
    round.enqueue(node, { priority: task.spec.priority, cpu: task.spec.needs.cpu, memoryMb: task.spec.needs.memoryMb, remainingMs: estimate.transmitMs + estimate.computeMs, started: false });
    decisions.push(decision);
  }
  return decisions;
}

/** Pure: the decisions a command leads to in `state`. Each is valid only while its task subject is still at `expectedSeq`. */
export function decide(command: SchedulerCommand, state: SchedulerState, config: SchedulerConfig = DEFAULT_SCHEDULER_CONFIG): Decision[] {
  switch (command.type) {
    case "place":
      return place(state, command.now, config, command.scheduler);
    case "supervise":
      return supervise(state, command.now, config);
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

/** The scheduler as a decider: `{ decide, evolve, initialState }`, all pure. */
export const schedulerDecider = { decide, evolve, initialState } as const;
