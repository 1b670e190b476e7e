import { z } from "zod";
import { EdgeId, EntityId } from "../ids.ts";
import { defineEvent, nonNegativeInt, positiveInt } from "./define.ts";

export const RolloutStrategy = z.enum(["all", "canary"]);
export type RolloutStrategy = z.infer<typeof RolloutStrategy>;

/** What a stage must show before the rollout goes on: judged per edge from its `model.observed` report. */
export const RolloutCriteria = z.object({
  /** Inferences of the new model an edge observes before it reports (it reports earlier once `observeMs` has passed). */
  minInferences: positiveInt(),
  /** Longest an edge observes the new model before reporting what it has. */
  observeMs: positiveInt(),
  /** New model's mean absolute prediction error ÷ the previous one's, at most. */
  maxErrorRatio: z.number().positive(),
  /** New model's mean inference latency ÷ the previous model's, at most (when the previous one is a model). */
  maxLatencyRatio: z.number().positive(),
  /** New model's mean inference latency at most this, when the previous one is the rule-based baseline. */
  maxLatencyMs: z.number().positive(),
  /** A stage whose edges have not all passed by then is rolled back. */
  stageTimeoutMs: positiveInt(),
});
export type RolloutCriteria = z.infer<typeof RolloutCriteria>;

/** The published artifact the edges fetch, as `model.published` announced it. */
const RolloutArtifact = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: positiveInt(),
  signature: z.string().optional(),
});

/** Someone (CLI, HTTP API, the auto-rollout policy) asked for a version to go out; the controller plans or rejects it. */
export const rolloutRequested = defineEvent(
  "tide.rollout.requested.v1",
  z.object({
    rolloutId: EntityId,
    version: EntityId,
    strategy: RolloutStrategy,
    /** Only these edges (default: every edge of the fleet). */
    edges: z.array(EdgeId).min(1).optional(),
    /** Canary stage size (default 1 edge). */
    canaries: positiveInt().optional(),
    criteria: RolloutCriteria.partial().optional(),
    requestedBy: z.string().min(1),
  }),
);

export const rolloutRejected = defineEvent("tide.rollout.rejected.v1", z.object({ rolloutId: EntityId, version: EntityId, reason: z.string().min(1) }));

export const rolloutPlanned = defineEvent(
  "tide.rollout.planned.v1",
  z.object({
    rolloutId: EntityId,
    version: EntityId,
    previousVersion: EntityId.optional(),
    strategy: RolloutStrategy,
    stages: z.array(z.object({ name: z.string().min(1), edges: z.array(EdgeId).min(1) })).min(1),
    criteria: RolloutCriteria,
    artifact: RolloutArtifact,
    /** Target edges left out of the plan because NODES says they are lost (optional: older plans have none). */
    skipped: z.array(z.object({ edge: EdgeId, reason: z.string().min(1) })).optional(),
  }),
);

export const rolloutStageStarted = defineEvent(
  "tide.rollout.stage.started.v1",
  z.object({ rolloutId: EntityId, version: EntityId, stage: nonNegativeInt(), name: z.string(), edges: z.array(EdgeId).min(1) }),
);

/** The controller's verdict on one edge of a stage, with the evidence it judged. */
export const EdgeVerdict = z.object({
  edge: EdgeId,
  passed: z.boolean(),
  reason: z.string().min(1),
  errorRatio: z.number().nonnegative().optional(),
  latencyRatio: z.number().nonnegative().optional(),
  inferences: nonNegativeInt().optional(),
});
export type EdgeVerdict = z.infer<typeof EdgeVerdict>;

export const rolloutStageCompleted = defineEvent(
  "tide.rollout.stage.completed.v1",
  z.object({ rolloutId: EntityId, stage: nonNegativeInt(), name: z.string(), verdicts: z.array(EdgeVerdict).min(1) }),
);

export const rolloutCompleted = defineEvent("tide.rollout.completed.v1", z.object({ rolloutId: EntityId, version: EntityId }));

export const rolloutRolledBack = defineEvent(
  "tide.rollout.rolled_back.v1",
  z.object({
    rolloutId: EntityId,
    version: EntityId,
    toVersion: z.string().optional(),
    reason: z.string().min(1),
    /** `automatic` (criteria, failure, timeout) or `manual` (`tide rollout rollback`). */
    trigger: z.enum(["automatic", "manual"]).optional(),
    stage: nonNegativeInt().optional(),
    verdicts: z.array(EdgeVerdict).optional(),
    requestedBy: z.string().optional(),
  }),
);
