import type { EventData, TideEvent } from "../events/catalogue.ts";
import type { StoredEvent } from "../store/read-stream.ts";
import type { Fit } from "./fit.ts";

/** Tunables of the scheduler; `DEFAULT_SCHEDULER_CONFIG` documents the defaults. */
export interface SchedulerConfig {
  /** Attempts per task, the first included; then it is abandoned. */
  maxAttempts: number;
  /** Backoff before attempt n+1: `min(backoffMaxMs, backoffBaseMs * 2^(n-1))`. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** An attempt overruns when it is still unfinished `max(factor * estimate, estimate + slack)` after assignment. */
  overrunFactor: number;
  overrunSlackMs: number;
  /** A node takes no more tasks while it has this many per CPU assigned and unfinished. */
  maxQueuedPerCpu: number;
  /** Score = T_delay * (1 + pressureWeight * pressure): equal delays go to the emptier node. */
  pressureWeight: number;
  /** Until a link's bandwidth is measured (10 Mbit/s). */
  defaultBandwidthBps: number;
  /** Until a place's local read rate is measured (data on the node's own place still has to be read). */
  defaultLocalBandwidthBps: number;
  /** Until an edge reports its RTT. */
  defaultRttMs: number;
  /** Heartbeat interval assumed for a node that did not say (ms). */
  defaultHeartbeatMs: number;
  /** A node silent for this many intervals gets no new tasks (the node monitor declares it lost). */
  staleAfterBeats: number;
  /** Compute estimate before any run of a kind was measured: `fixedMs + msPerMB * MB`. */
  priors: Readonly<Record<string, ComputePrior>>;
  defaultPrior: ComputePrior;
}

/** A kind's compute time before any run was measured: `fixedMs + msPerMB * MB`. */
export interface ComputePrior {
  fixedMs: number;
  msPerMB: number;
}

/** The defaults: 3 attempts, backoff from 0.5 s, overrun at max(3x estimate, estimate + 5 s), 4 queued tasks per CPU. */
export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  maxAttempts: 3,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  overrunFactor: 3,
  overrunSlackMs: 5_000,
  maxQueuedPerCpu: 4,
  pressureWeight: 0.1,
  defaultBandwidthBps: 1_250_000,
  defaultLocalBandwidthBps: 50_000_000,
  defaultRttMs: 20,
  defaultHeartbeatMs: 5_000,
  staleAfterBeats: 3,
  priors: {
    batch_inference: { fixedMs: 30, msPerMB: 400 },
    aggregate: { fixedMs: 20, msPerMB: 150 },
    retrain: { fixedMs: 50, msPerMB: 0 },
  },
  defaultPrior: { fixedMs: 500, msPerMB: 200 },
};

/** A task as submitted (the data of `tide.task.submitted.v1`). */
export type TaskSpec = EventData<"tide.task.submitted.v1">;
/** The latency model's terms for one node, ms. */
export type Estimate = EventData<"tide.task.assigned.v1">["estimate"];
/** One node's line in an assignment: eligible or why not, its estimate and score. */
export type Candidate = EventData<"tide.task.assigned.v1">["candidates"][number];
/** Why an attempt was ended by the scheduler. */
export type RescheduleReason = EventData<"tide.task.rescheduled.v1">["reason"];

/** A task the scheduler still has work for; finished tasks leave the state. */
export interface ActiveTask {
  readonly spec: TaskSpec;
  /** TASKS sequence of its submission: first come, first served among equals. */
  readonly order: number;
  /** Last sequence on `tide.task.<id>`: every append about it expects this. */
  readonly lastSeq: number;
  /** pending: waiting for a node; assigned: on a node's queue; running: started; ended: an attempt failed and awaits a decision. */
  readonly phase: "pending" | "assigned" | "running" | "ended";
  /** Attempts assigned so far. */
  readonly attempt: number;
  readonly node?: string;
  readonly assignedAt?: number;
  readonly startedAt?: number;
  readonly estimate?: Estimate;
  /** Not placed before this time (backoff). */
  readonly notBefore: number;
  /** Nodes where an attempt ended badly: used only if nothing else is eligible. */
  readonly avoid: readonly string[];
  readonly failure?: { reason: string; retryable: boolean };
}

/** What the scheduler knows of a node, from NODES. */
export interface NodeInfo {
  readonly node: string;
  readonly kind: "edge" | "cloud";
  readonly edge?: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly kinds: readonly string[];
  readonly heartbeatMs?: number;
  readonly lastSeenAt: number;
  readonly rttMs?: number;
  readonly lost: boolean;
}

/** What the scheduler knows: active tasks, nodes, and what it learned from completions. */
export interface SchedulerState {
  readonly tasks: ReadonlyMap<string, ActiveTask>;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Compute fit per `node kind`, and per kind across the fleet. */
  readonly perf: ReadonlyMap<string, Fit>;
  readonly fleetPerf: ReadonlyMap<string, Fit>;
  /**
   * Transfer time fit (ms against MB) of each edge's link to the cloud (key:
   * edge id) and of local reads (key: `local:<place>`): its slope is 1/bandwidth,
   * its intercept the fixed cost of a transfer (round trips, setting up the read).
   */
  readonly links: ReadonlyMap<string, Fit>;
  readonly finished: number;
}

type TaskType = Extract<TideEvent["type"], `tide.task.${string}`>;
type NodeType = Extract<TideEvent["type"], `tide.node.${string}`>;
/** The events the scheduler folds: the task and node families. */
export type SchedulerEvent = TideEvent<TaskType | NodeType>;

/** Whether the scheduler folds this event (task and node families). */
export function isSchedulerEvent(event: TideEvent): event is SchedulerEvent {
  return event.type.startsWith("tide.task.") || event.type.startsWith("tide.node.");
}

/** A stored task or node event. */
export type StoredSchedulerEvent = StoredEvent<SchedulerEvent>;

/** `place`: assign ready tasks; `supervise`: reschedule or abandon attempts that are lost, failed or overrunning. */
export type SchedulerCommand = { type: "place"; now: number; scheduler?: string } | { type: "supervise"; now: number };

type DecidedType = "tide.task.assigned.v1" | "tide.task.rescheduled.v1" | "tide.task.abandoned.v1";
/** One decision: an event for `tide.task.<taskId>`, valid only if that subject is still at `expectedSeq`. */
export interface Decision {
  taskId: string;
  expectedSeq: number;
  event: { [T in DecidedType]: { type: T; data: EventData<T> } }[DecidedType];
}

/** Key of a node's compute fit for a kind in `perf`. */
export const perfKey = (node: string, kind: string): string => `${node} ${kind}`;
/** Key of a place's local read rate in `links`. */
export const localKey = (place: string): string => `local:${place}`;
/** Where a node is: its edge id, or `cloud`. */
export const placeOf = (node: Pick<NodeInfo, "kind" | "edge">): string => (node.kind === "edge" && node.edge ? node.edge : "cloud");
/** Where a task's data is: an edge id, `cloud`, or undefined (no data). */
export const dataPlaceOf = (spec: TaskSpec): string | undefined => (spec.data ? (spec.data.edge ?? "cloud") : undefined);
