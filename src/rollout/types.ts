import type { EventData, TideEvent } from "../events/catalogue.ts";
import type { EdgeVerdict, RolloutCriteria, RolloutStrategy } from "../events/rollout.ts";

export type { EdgeVerdict, RolloutCriteria, RolloutStrategy };

/** Criteria used when a request does not say (each overridable per request). */
export const DEFAULT_CRITERIA: RolloutCriteria = {
  minInferences: 20,
  observeMs: 30_000,
  maxErrorRatio: 1.25,
  maxLatencyRatio: 3,
  maxLatencyMs: 250,
  stageTimeoutMs: 120_000,
};

/** The automatic rollout policy after each `model.published`. */
export const AutoRollout = { Off: "off", Canary: "canary", All: "all" } as const;
export type AutoRollout = (typeof AutoRollout)[keyof typeof AutoRollout];

/** The controller's tunables. */
export interface RolloutConfig {
  /** The fleet: edges a rollout goes to when its request names none. */
  edges: readonly string[];
  criteria: RolloutCriteria;
  auto: AutoRollout;
  /** Canary stage size when a request does not say. */
  canaries: number;
}

export type RolloutStatus = "requested" | "planned" | "running" | "completed" | "rolled_back" | "rejected";

/** What one edge reported for one rollout. */
export interface EdgeProgress {
  activated?: { version: string; previousVersion?: string; at: string };
  failed?: { reason: string; at: string };
  observed?: EventData<"tide.model.observed.v1">;
}

export interface Rollout {
  rolloutId: string;
  /** Stream sequence of the last event on `tide.rollout.<id>`: what the next decision expects. */
  lastSeq: number;
  status: RolloutStatus;
  version: string;
  request?: EventData<"tide.rollout.requested.v1">;
  plan?: EventData<"tide.rollout.planned.v1">;
  /** When it was planned (the event's time). */
  plannedAt?: string;
  /** Index of the current stage; -1 before the first one starts. */
  stage: number;
  stageStartedAt?: number;
  /** Stages whose verdicts are in, by index. */
  stagesCompleted: Set<number>;
  edges: Map<string, EdgeProgress>;
  outcome?: { reason: string; at: string; toVersion?: string };
  requestedAt: string;
}

/** A published model, as the rollout needs it. */
export interface PublishedModel {
  version: string;
  artifact: EventData<"tide.rollout.planned.v1">["artifact"];
  seq: number;
}

/** An edge as NODES last described it: lost after `node.lost`, live again after a registration or heartbeat. */
export interface EdgeLiveness {
  node: string;
  lost?: { at: string; lastSeen: string; missedHeartbeats: number };
}

export interface RolloutState {
  rollouts: Map<string, Rollout>;
  /** Rollout ids in request order. */
  order: string[];
  published: Map<string, PublishedModel>;
  /** The newest publication (by MODELS seq). */
  newest?: PublishedModel;
  /** What each edge last said it runs. */
  edgeVersions: Map<string, string>;
  /** Edges' reports by rollout id (a rollout's `edges` is its entry). */
  reports: Map<string, Map<string, EdgeProgress>>;
  /** Edges' liveness from NODES, by edge id (only the controller folds NODES). */
  liveness: Map<string, EdgeLiveness>;
  /** Which edge each edge node registered for (`node.heartbeat` and `node.lost` name only the node). */
  nodeEdges: Map<string, string>;
}

/** An event as the controller folds it: where it was stored, and when. */
export interface Folded {
  stream: "ROLLOUTS" | "MODELS" | "NODES";
  seq: number;
  subject: string;
  storedAt: string;
  event: TideEvent;
}

/** A decision: the event to append on the rollout's subject, expecting its last sequence. */
export interface Decision {
  rolloutId: string;
  expectedSeq: number;
  event:
    | { type: "tide.rollout.planned.v1"; data: EventData<"tide.rollout.planned.v1"> }
    | { type: "tide.rollout.rejected.v1"; data: EventData<"tide.rollout.rejected.v1"> }
    | { type: "tide.rollout.stage.started.v1"; data: EventData<"tide.rollout.stage.started.v1"> }
    | { type: "tide.rollout.stage.completed.v1"; data: EventData<"tide.rollout.stage.completed.v1"> }
    | { type: "tide.rollout.completed.v1"; data: EventData<"tide.rollout.completed.v1"> }
    | { type: "tide.rollout.rolled_back.v1"; data: EventData<"tide.rollout.rolled_back.v1"> }
    | { type: "tide.rollout.requested.v1"; data: EventData<"tide.rollout.requested.v1"> };
}

export const isActive = (r: Rollout): boolean => r.status === "planned" || r.status === "running";
export const isTerminal = (r: Rollout): boolean => r.status === "completed" || r.status === "rolled_back" || r.status === "rejected";
