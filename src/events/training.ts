import { z } from "zod";
import { EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt, positiveInt } from "./define.ts";
import { TfBackend } from "./inference.ts";

/** Why a training run was asked for: `tide train`, `POST /train`, the schedule, or drift. */
export const TrainingReason = z.enum(["manual", "api", "schedule", "drift"]);
export type TrainingReason = z.infer<typeof TrainingReason>;

export const trainingRequested = defineEvent(
  "tide.training.requested.v1",
  z.object({
    runId: EntityId,
    reason: TrainingReason,
    /** What exactly triggered it (the schedule's count, the drift measurement ...). */
    detail: z.string().optional(),
    /** Cloud READINGS stored at or after this time (default: the newest `maxReadings`). */
    since: isoTime().optional(),
    until: isoTime().optional(),
    /** Publish even if the evaluation gate says no. */
    force: z.boolean().default(false),
    /** Overrides the trainer's configured epochs for this run. */
    epochs: positiveInt().max(10_000).optional(),
  }),
);

export const trainingStarted = defineEvent(
  "tide.training.started.v1",
  z.object({
    runId: EntityId,
    /** The trainer instance that claimed the run (answers pings while it lives). */
    trainer: z.string().min(1),
    /** Exact cloud READINGS sequences of the first and last reading of the dataset. */
    fromSeq: positiveInt(),
    toSeq: positiveInt(),
    readings: nonNegativeInt(),
    devices: nonNegativeInt(),
    samples: z.object({ train: nonNegativeInt(), validation: nonNegativeInt(), test: nonNegativeInt() }),
    /** SHA-256 of the readings and the dataset parameters: the same range gives the same hash. */
    datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
    backend: TfBackend,
    epochs: positiveInt(),
    window: positiveInt(),
    batchSize: positiveInt(),
  }),
);

export const trainingEpochCompleted = defineEvent(
  "tide.training.epoch.completed.v1",
  z.object({ runId: EntityId, epoch: positiveInt(), epochs: positiveInt(), loss: z.number(), valLoss: z.number(), samples: nonNegativeInt(), durationMs: z.number().nonnegative() }),
);

export const trainingCompleted = defineEvent(
  "tide.training.completed.v1",
  z.object({
    runId: EntityId,
    metrics: z.record(z.string(), z.number()),
    /** The candidate's model version (see `tide.model.evaluated.v1`). */
    version: EntityId,
    /** Whether the candidate passed the gate (or was forced) and was published. */
    published: z.boolean(),
    durationMs: z.number().nonnegative(),
  }),
);

/** Where a run failed; `crash` = its trainer died mid-run, `shutdown` = its trainer was stopped. */
export const TrainingStage = z.enum(["dataset", "training", "evaluation", "publish", "crash", "shutdown"]);
export type TrainingStage = z.infer<typeof TrainingStage>;

export const trainingFailed = defineEvent(
  "tide.training.failed.v1",
  z.object({ runId: EntityId, reason: z.string().min(1), stage: TrainingStage.optional() }),
);
