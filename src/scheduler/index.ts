/** The scheduler: a pure decider (placement with the latency model, supervision) and its I/O shell. */
export { createScheduler, type Scheduler, type SchedulerOptions, type SchedulerStats } from "./scheduler.ts";
export { schedulerDecider, decide } from "./decider.ts";
export { evolve, initialState } from "./evolve.ts";
export { DEFAULT_SCHEDULER_CONFIG, type SchedulerConfig, type SchedulerState, type Decision, type TaskSpec, type Estimate } from "./types.ts";
