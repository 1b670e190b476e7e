import { z } from "zod";
import { BASELINE_VERSION, BASELINE_WINDOW, baselinePredict } from "../../../edge-runtime/inference/baseline.ts";
import type { TaskKind } from "./registry.ts";
import { createStepper, readingsByDevice, yieldNow } from "./readings.ts";

const Payload = z
  .object({
    /** A reading is anomalous at or above this score (default 4, the edge's offload threshold). */
    anomalyScore: z.number().positive().default(4),
  })
  .strict();

/**
 * `batch_inference`: run the predictor over a stream range of readings, per
 * device in order: the node's inference engine when it has one (an edge, with
 * its active model), else the baseline. Result: how many predictions, how many
 * anomalies, and the one-step prediction error against what came next.
 */
export const batchInferenceKind: TaskKind = {
  kind: "batch_inference",
  description: "predict the next temperature and score anomalies over a stream range of readings",
  payload: Payload,
  readsData: true,
  async handler(ctx) {
    const { anomalyScore } = ctx.payload as z.infer<typeof Payload>;
    const byDevice = readingsByDevice(await ctx.readData());
    const total = [...byDevice.values()].reduce((sum, list) => sum + list.length, 0);
    const step = createStepper(total, ctx.progress, ctx.signal);
    let predictions = 0;
    let anomalies = 0;
    let absError = 0;
    let scored = 0;
    let modelVersion = BASELINE_VERSION;
    for (const [device, points] of byDevice) {
      let previous: number | undefined;
      for (let i = 0; i < points.length; i++) {
        step();
        if (previous !== undefined) {
          absError += Math.abs(points[i]!.temperature - previous);
          scored++;
        }
        const window = points.slice(Math.max(0, i - BASELINE_WINDOW), i + 1);
        if (ctx.predictor) {
          const result = await ctx.predictor.predict({ device, window });
          modelVersion = result.modelVersion;
          previous = result.prediction.temperature;
          if (result.anomalyScore >= anomalyScore) anomalies++;
        } else {
          const result = baselinePredict(window);
          previous = result.temperature;
          if (result.anomalyScore >= anomalyScore) anomalies++;
        }
        predictions++;
      }
      await yieldNow();
    }
    return { readings: total, devices: byDevice.size, predictions, anomalies, meanAbsErrorC: scored ? Math.round((absError / scored) * 1000) / 1000 : null, modelVersion };
  },
};
