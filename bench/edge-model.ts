import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../src/log.ts";
import { serializeModel } from "../src/model/artifact.ts";
import { selectBackend } from "../src/model/backend.ts";
import { buildWindows, computeStats, DEFAULT_WINDOW } from "../src/model/features.ts";
import { createForecastModel, disposeForecastModel, evaluateForecastModel, trainForecastModel } from "../src/model/forecast-model.ts";
import { benchTrainingReadings } from "./edge-load.ts";

export interface BenchModel {
  file: string;
  version: string;
  window: number;
  hidden: readonly number[];
  epochs: number;
  samples: number;
  /** Held-out-free fit on the training set, °C (a smoke check that it learnt something). */
  mae: number;
  residualStd: number;
  trainSeconds: number;
  backend: string;
}

/**
 * A small real model for the edge runtime to run: the trainer's residual
 * architecture (window 8, hidden 32 → 16) fitted for a few epochs on readings
 * from the same generator the benchmark streams, serialised as a
 * `tide-model/1` artifact that `tide edge --model FILE` activates.
 */
export async function trainBenchModel(dir: string): Promise<BenchModel> {
  const started = performance.now();
  const { tf, backend } = await selectBackend({ logger: silentLogger });
  const window = DEFAULT_WINDOW;
  const hidden = [32, 16] as const;
  const epochs = 12;
  const readings = benchTrainingReadings(16, 250);
  const stats = computeStats(readings);
  const samples = buildWindows(readings, window, stats);
  const model = createForecastModel(tf, { architecture: "residual", window, hidden, seed: 7 });
  try {
    await trainForecastModel(tf, model, { inputs: samples.inputs, targets: samples.targets, epochs, batchSize: 64 });
    const { mae, residualStd } = evaluateForecastModel(tf, model, samples, stats);
    const version = "bench-edge-1";
    const bytes = await serializeModel(model, { version, normalisation: stats, window, residualStd, labels: { purpose: "edge benchmark" } });
    const file = join(dir, `${version}.tide-model`);
    writeFileSync(file, bytes);
    return { file, version, window, hidden, epochs, samples: samples.inputs.length, mae, residualStd, trainSeconds: (performance.now() - started) / 1000, backend };
  } finally {
    disposeForecastModel(model);
  }
}
