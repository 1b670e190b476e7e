import { z } from "zod";
import { DeviceId, EdgeId } from "../ids.ts";
import { defineEvent, positiveInt } from "./define.ts";

export const TfBackend = z.enum(["tensorflow", "wasm", "cpu"]);
export type TfBackend = z.infer<typeof TfBackend>;

export const inferenceCompleted = defineEvent(
  "tide.inference.completed.v1",
  z.object({
    edge: EdgeId,
    device: DeviceId,
    /** `baseline` before any model is active. */
    modelVersion: z.string().min(1),
    backend: TfBackend.optional(),
    /** Edge READINGS sequences of the window the model saw. */
    inputSeqs: z.array(positiveInt()).min(1),
    prediction: z.object({ temperature: z.number(), humidity: z.number().optional() }),
    anomalyScore: z.number().nonnegative(),
    latencyMs: z.number().nonnegative(),
    offload: z
      .object({ requested: z.boolean(), used: z.boolean(), cloudModelVersion: z.string().optional(), cloudPrediction: z.number().optional(), reason: z.string() })
      .optional(),
  }),
);

export const Action = z.enum(["cooling_on", "cooling_off", "hold"]);
export type Action = z.infer<typeof Action>;

export const decisionMade = defineEvent(
  "tide.decision.made.v1",
  z.object({
    edge: EdgeId,
    device: DeviceId,
    action: Action,
    /** `baseline` = the documented rule-based controller; `model` = from a model's prediction. */
    basis: z.enum(["baseline", "model"]),
    modelVersion: z.string().optional(),
    inferenceId: z.string().optional(),
    readingSeq: positiveInt(),
    reason: z.string().min(1),
  }),
);

export const commandIssued = defineEvent(
  "tide.command.issued.v1",
  z.object({ edge: EdgeId, device: DeviceId, command: Action, decisionId: z.string().min(1) }),
);
