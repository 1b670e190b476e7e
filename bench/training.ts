import "@tensorflow/tfjs-backend-wasm";
import type { LayersModel } from "@tensorflow/tfjs";
import { TfBackend } from "../src/events/inference.ts";
import { silentLogger } from "../src/log.ts";
import { loadModelArtifact, serializeModel } from "../src/model/artifact.ts";
import { selectBackend, type Tf } from "../src/model/backend.ts";
import { createForecastModel, disposeForecastModel, evaluateForecastModel, trainForecastModel } from "../src/model/forecast-model.ts";
import { QUANTIZATIONS } from "../src/model/quantize.ts";
import { parseTrainingConfig } from "../src/training/config.ts";
import { buildDataset, persistenceMae, type Dataset } from "../src/training/dataset.ts";
import type { BenchContext } from "./context.ts";
import { round } from "./measure.ts";
import { simulatedTrainingReadings } from "./training-data.ts";
import { measureRequestToPublished } from "./training-pipeline.ts";
import type { BenchFigure, BenchOutcome, BenchResult } from "./types.ts";

/** Backends `train.samples_per_s` is measured on when they load here (tfjs-node is an optional dependency). */
const BACKENDS: readonly TfBackend[] = ["tensorflow", "wasm", "cpu"];

const SIZE = {
  full: { devices: 8, ticks: 1000, epochs: 10 },
  quick: { devices: 4, ticks: 300, epochs: 3 },
} as const;

/** The trainer's model on the trainer's settings (defaults), so the figures describe what `tide cloud` does. */
function trainerModel(tf: Tf, window: number): LayersModel {
  const { hidden, learningRate, seed } = parseTrainingConfig({});
  return createForecastModel(tf, { architecture: "residual", window, hidden, learningRate, seed });
}

/** Train once on `backend`; samples/s = training samples × epochs / fit time (model building excluded). */
async function samplesPerSecond(tf: Tf, backend: TfBackend, dataset: Dataset, epochs: number, batchSize: number) {
  const model = trainerModel(tf, dataset.window);
  try {
    const t0 = performance.now();
    await trainForecastModel(tf, model, { ...dataset.train, validationData: dataset.validation, epochs, batchSize, yieldEvery: "batch" });
    const seconds = (performance.now() - t0) / 1000;
    return { backend, perSecond: (dataset.train.inputs.length * epochs) / seconds, seconds, mae: evaluateForecastModel(tf, model, dataset.test, dataset.stats).mae };
  } finally {
    disposeForecastModel(model);
  }
}

/** Artifact bytes per quantisation, and each one's test MAE (°C), to compare with the float32 artifact's. */
async function quantisation(tf: Tf, dataset: Dataset, epochs: number, batchSize: number) {
  const model = trainerModel(tf, dataset.window);
  try {
    await trainForecastModel(tf, model, { ...dataset.train, validationData: dataset.validation, epochs, batchSize });
    const meta = { version: "bench-training", normalisation: dataset.stats, window: dataset.window, residualStd: 0.1 };
    const rows: Array<{ quantization: (typeof QUANTIZATIONS)[number]; bytes: number; mae: number }> = [];
    for (const quantization of QUANTIZATIONS) {
      const bytes = await serializeModel(model, meta, { quantization, createdAt: new Date(0) });
      const loaded = await loadModelArtifact(tf, bytes);
      rows.push({ quantization, bytes: bytes.byteLength, mae: evaluateForecastModel(tf, loaded.model, dataset.test, dataset.stats).mae });
      loaded.model.dispose();
    }
    return rows;
  } finally {
    disposeForecastModel(model);
  }
}

/**
 * Training benchmarks: `train.samples_per_s` per TF.js backend that loads,
 * `train.requested_to_published.seconds` for a fixed dataset through the real
 * trainer, `model.artifact.bytes@<quantization>` and
 * `model.quantization.mae_delta@<float16|uint8>` (test MAE of the quantised
 * artifact minus the float32 one's, in m°C: thousandths of a degree).
 */
export async function trainingBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const size = ctx.sizes.quick ? SIZE.quick : SIZE.full;
  const config = parseTrainingConfig({});
  const selection = await selectBackend({ logger: silentLogger });
  const { tf } = selection;
  const dataset = buildDataset(simulatedTrainingReadings(size.devices, size.ticks), { window: config.window, split: config.split });
  ctx.progress(`training: ${dataset.readings} readings -> ${dataset.train.inputs.length} training samples, ${size.epochs} epochs, batch ${config.batchSize}`);

  const speeds: Awaited<ReturnType<typeof samplesPerSecond>>[] = [];
  const skipped: string[] = [];
  for (const backend of BACKENDS) {
    const ok = await tf.setBackend(backend).catch(() => false);
    if (!ok) {
      skipped.push(backend);
      continue;
    }
    await tf.ready();
    await samplesPerSecond(tf, backend, dataset, 1, config.batchSize); // warm-up: kernels compiled, memory allocated
    const speed = await samplesPerSecond(tf, backend, dataset, size.epochs, config.batchSize);
    speeds.push(speed);
    ctx.progress(`training: ${backend} ${Math.round(speed.perSecond).toLocaleString("en-US")} samples/s`);
  }
  await tf.setBackend(selection.backend);
  await tf.ready();

  const sizes = await quantisation(tf, dataset, size.epochs, config.batchSize);
  const pipeline = await measureRequestToPublished(ctx, selection, size);
  ctx.progress(`training: requested -> published in ${pipeline.seconds.toFixed(2)} s`);

  const none = sizes.find((s) => s.quantization === "none")!;
  const figures: BenchFigure[] = [
    ...speeds.map((s) => ({ name: "train.samples_per_s", value: Math.round(s.perSecond), unit: "samples/s", backend: s.backend })),
    { name: "train.requested_to_published.seconds", value: round(pipeline.seconds, 2), unit: "s", backend: selection.backend },
    ...sizes.map((s) => ({ name: `model.artifact.bytes@${s.quantization}`, value: s.bytes, unit: "bytes" })),
    ...sizes.filter((s) => s.quantization !== "none").map((s) => ({ name: `model.quantization.mae_delta@${s.quantization}`, value: round((s.mae - none.mae) * 1000, 4), unit: "m°C" })),
  ];
  return {
    figures,
    title: "Training (`train.*`, `model.artifact.bytes@*`, `model.quantization.mae_delta@*`)",
    how:
      `Simulated climate readings (${size.devices} healthy devices, ${size.ticks} readings each, one per 10 simulated minutes) become the trainer's dataset ` +
      `(window ${config.window}, chronological ${1 - config.split.validation - config.split.test}/${config.split.validation}/${config.split.test} split): ` +
      `${dataset.train.inputs.length} training samples. \`train.samples_per_s\`: the trainer's residual model (hidden ${config.hidden.join("→")}) fitted for ` +
      `${size.epochs} epochs at batch ${config.batchSize} with validation each epoch, after a one-epoch warm-up, per backend that loads; training samples × epochs / fit time. ` +
      `\`train.requested_to_published.seconds\`: the same readings sourced edge → cloud READINGS, the trainer \`tide cloud\` runs, and the time from appending a ` +
      `forced \`training.requested\` to seeing \`model.published\` on MODELS. Artifact sizes and the quantisation cost: one trained model serialised ` +
      `as \`tide-model/1\` with each quantisation, loaded back, test MAE compared with the float32 artifact's.`,
    details: [
      ...speeds.map((s) => `${s.backend}: ${Math.round(s.perSecond).toLocaleString("en-US")} samples/s (${s.seconds.toFixed(2)} s for ${size.epochs} epochs), test MAE ${s.mae.toFixed(4)} °C.`),
      ...(skipped.length ? [`Not measured (backend does not load here): ${skipped.join(", ")}.`] : []),
      `Persistence baseline on the same test split: ${persistenceMae(dataset.test, dataset.stats, dataset.window).toFixed(4)} °C.`,
      `requested → published ${pipeline.seconds.toFixed(2)} s on ${selection.backend} for ${pipeline.readings} readings, ${pipeline.epochs} epochs: ` +
        `claim (read the range, build the dataset) ${pipeline.phases.claimMs} ms, training ${pipeline.phases.trainMs} ms, ` +
        `evaluation + artifact + publication ${pipeline.phases.publishMs} ms (event times, ms resolution); ${pipeline.version} is ${pipeline.artifactBytes} bytes.`,
      ...sizes.map((s) => `${s.quantization}: ${s.bytes.toLocaleString("en-US")} bytes (${((100 * s.bytes) / none.bytes).toFixed(0)}% of float32), test MAE ${s.mae.toFixed(5)} °C.`),
    ],
  };
}

/** The same figures as `bench/results.json` entries (dated), for callers outside bench/run.ts. */
export async function trainingResults(ctx: BenchContext): Promise<BenchResult[]> {
  const date = new Date().toISOString();
  return (await trainingBenchmark(ctx)).figures.map((f) => ({ ...f, date }));
}
