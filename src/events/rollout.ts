import { z } from "zod";
import { EdgeId, EntityId } from "../ids.ts";
import { defineEvent, positiveInt } from "./define.ts";

export const rolloutPlanned = defineEvent(
  "tide.rollout.planned.v1",
  z.object({
    rolloutId: EntityId,
    version: EntityId,
    previousVersion: EntityId.optional(),
    strategy: z.enum(["all", "canary"]),
    stages: z.array(z.object({ name: z.string().min(1), edges: z.array(EdgeId).min(1) })).min(1),
    criteria: z.object({
      minInferences: positiveInt(),
      maxErrorRatio: z.number().positive(),
      maxLatencyRatio: z.number().positive(),
      stageTimeoutMs: positiveInt(),
    }),
  }),
);

export const rolloutStageStarted = defineEvent(
  "tide.rollout.stage.started.v1",
  z.object({ rolloutId: EntityId, stage: z.number().int().nonnegative(), name: z.string(), edges: z.array(EdgeId).min(1) }),
);

export const rolloutCompleted = defineEvent("tide.rollout.completed.v1", z.object({ rolloutId: EntityId, version: EntityId }));

export const rolloutRolledBack = defineEvent(
  "tide.rollout.rolled_back.v1",
  z.object({ rolloutId: EntityId, version: EntityId, toVersion: z.string().optional(), reason: z.string().min(1), stage: z.number().int().nonnegative().optional() }),
);
