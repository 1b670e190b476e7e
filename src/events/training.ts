import { z } from "zod";
import { EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt, positiveInt } from "./define.ts";
import { TfBackend } from "./inference.ts";

export const trainingRequested = defineEvent(
  "tide.training.requested.v1",
  z.object({
    runId: EntityId,
    reason: z.enum(["manual", "api", "schedule", "drift"]),
    detail: z.string().optional(),
    since: isoTime().optional(),
    until: isoTime().optional(),
    force: z.boolean().default(false),
  }),
);

export const trainingStarted = defineEvent(
  "tide.training.started.v1",
  z.object({
    runId: EntityId,
    fromSeq: positiveInt(),
    toSeq: positiveInt(),
    readings: nonNegativeInt(),
    samples: z.object({ train: nonNegativeInt(), validation: nonNegativeInt(), test: nonNegativeInt() }),
    datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
    backend: TfBackend,
    epochs: positiveInt(),
  }),
);

export const trainingEpochCompleted = defineEvent(
  "tide.training.epoch.completed.v1",
  z.object({ runId: EntityId, epoch: positiveInt(), epochs: positiveInt(), loss: z.number(), valLoss: z.number(), samples: nonNegativeInt(), durationMs: z.number().nonnegative() }),
);

export const trainingCompleted = defineEvent(
  "tide.training.completed.v1",
  z.object({ runId: EntityId, metrics: z.record(z.string(), z.number()) }),
);

export const trainingFailed = defineEvent("tide.training.failed.v1", z.object({ runId: EntityId, reason: z.string().min(1) }));
