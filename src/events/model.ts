import { z } from "zod";
import { EdgeId, EntityId } from "../ids.ts";
import { defineEvent, nonNegativeInt, positiveInt } from "./define.ts";

const Digest = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: positiveInt() });

/** The evaluation gate's verdict on a candidate, on the run's held-out test split (°C). */
export const modelEvaluated = defineEvent(
  "tide.model.evaluated.v1",
  z.object({
    runId: EntityId,
    /** The candidate's version; it keeps it whether or not it is published. */
    version: EntityId,
    candidate: z.object({ mae: z.number().nonnegative(), rmse: z.number().nonnegative().optional() }),
    /** The production model at evaluation time, on the same test targets. */
    production: z.object({ version: z.string(), mae: z.number().nonnegative(), samples: nonNegativeInt().optional() }).optional(),
    /** Naive persistence: the next temperature is the last one. */
    persistence: z.object({ mae: z.number().nonnegative() }),
    accepted: z.boolean(),
    forced: z.boolean(),
    testSamples: nonNegativeInt(),
    /** Why it was (not) accepted, for people. */
    reason: z.string().optional(),
    /** The data it was trained and tested on (cloud READINGS seqs) and its hash: lineage for rejected candidates too. */
    dataRange: z.object({ fromSeq: positiveInt(), toSeq: positiveInt() }).optional(),
    datasetHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
);

export const modelPublished = defineEvent(
  "tide.model.published.v1",
  z.object({
    version: EntityId,
    parentVersion: EntityId.optional(),
    runId: EntityId,
    dataRange: z.object({ fromSeq: positiveInt(), toSeq: positiveInt() }),
    datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
    metrics: z.record(z.string(), z.number()),
    artifact: z.object({ bucket: z.string(), name: z.string(), quantization: z.enum(["none", "float16", "uint8"]), digest: Digest }),
    signature: z.string().optional(),
  }),
);

export const ActivationCause = z.enum(["rollout", "rollback", "restore", "local"]);

/**
 * An edge runs `version` now. `cause`: a rollout stage, a rollout's rollback
 * (back to the version it ran before), a restart restoring its last active model
 * from its local copy, or a local activation (a file, `tide edge --model`).
 */
export const modelActivated = defineEvent(
  "tide.model.activated.v1",
  z.object({
    edge: EdgeId,
    version: z.string().min(1),
    previousVersion: z.string().optional(),
    rolloutId: EntityId.optional(),
    cause: ActivationCause.optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
);

/** How one model version did on an edge: predictions scored against the readings that followed them. */
const ModelPerformance = z.object({
  version: z.string().min(1),
  /** Predictions scored (each against the device's next reading). */
  inferences: nonNegativeInt(),
  /** Mean absolute error of the next-temperature prediction, °C. */
  maeC: z.number().nonnegative().optional(),
  /** Mean inference latency (queueing included), ms. */
  latencyMs: z.number().nonnegative().optional(),
});

/** An edge's observation of a model a rollout activated, against the model it ran before: the canary evidence. */
export const modelObserved = defineEvent(
  "tide.model.observed.v1",
  z.object({ edge: EdgeId, rolloutId: EntityId, current: ModelPerformance, previous: ModelPerformance.optional(), observedMs: nonNegativeInt() }),
);

export const modelActivationFailed = defineEvent(
  "tide.model.activation_failed.v1",
  z.object({ edge: EdgeId, version: EntityId, reason: z.string().min(1), rolloutId: EntityId.optional() }),
);
