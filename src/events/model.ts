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

export const modelActivated = defineEvent(
  "tide.model.activated.v1",
  z.object({ edge: EdgeId, version: EntityId, previousVersion: z.string().optional(), rolloutId: EntityId.optional() }),
);

export const modelActivationFailed = defineEvent(
  "tide.model.activation_failed.v1",
  z.object({ edge: EdgeId, version: EntityId, reason: z.string().min(1), rolloutId: EntityId.optional() }),
);
