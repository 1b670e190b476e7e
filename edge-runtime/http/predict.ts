import { z } from "zod";
import { DeviceId } from "../../src/ids.ts";
import { parseBody, type Route } from "../../src/http/server.ts";
import { READING_LIMITS } from "../../src/events/reading.ts";
import type { Predictor } from "../pipeline/pipeline.ts";

/** `POST /predict` input: a window of recent readings of one device, oldest first. */
export const PredictRequest = z.strictObject({
  device: DeviceId.default("http"),
  window: z
    .array(
      z.strictObject({
        temperature: z.number().min(READING_LIMITS.temperature.min).max(READING_LIMITS.temperature.max),
        humidity: z.number().min(READING_LIMITS.humidity.min).max(READING_LIMITS.humidity.max),
      }),
    )
    .min(1)
    .max(64),
});

/** The seed's edge endpoint: a prediction, the model version that made it and its latency. */
export function predictRoute(predictor: Predictor): Route {
  return {
    method: "POST",
    path: "/predict",
    async handle({ body }) {
      const request = parseBody(PredictRequest, body);
      const started = performance.now();
      const result = await predictor.predict({ device: request.device, window: request.window.map((p, i) => ({ seq: i + 1, ...p })) });
      return {
        device: request.device,
        modelVersion: result.modelVersion,
        backend: result.backend,
        prediction: result.prediction,
        anomalyScore: result.anomalyScore,
        latencyMs: performance.now() - started,
      };
    },
  };
}
