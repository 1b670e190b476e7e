import type { LayersModel, Sequential, Tensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.ts";
import { DEFAULT_WINDOW, inputSize, normaliser, type NormalisationStats } from "./features.ts";

export interface ForecastModelOptions {
  /** Readings per window (W); the input is 2·W features (see `normaliser`). */
  window?: number;
  /** Units of the hidden dense layers. */
  hidden?: readonly number[];
  learningRate?: number;
  /** Seed for the initial weights, for reproducible runs. */
  seed?: number;
}

/**
 * A small dense network from one window's input vector (2·W normalised
 * features) to the next temperature (normalised). Compiled with Adam and mean
 * squared error. Uses only the common tfjs API, so it runs on every backend.
 * Free it with `disposeForecastModel` (tfjs's `model.dispose()` leaves an
 * optimizer instance it did not create).
 */
export function createForecastModel(tf: Tf, options: ForecastModelOptions = {}): Sequential {
  const { window = DEFAULT_WINDOW, hidden = [32, 16], learningRate = 0.005, seed } = options;
  const init = (offset: number) => tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + offset });
  const model = tf.sequential({ name: "tide_forecast" });
  hidden.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: "relu",
        kernelInitializer: init(i),
        ...(i === 0 ? { inputShape: [inputSize(window)] } : {}),
      }),
    );
  });
  model.add(tf.layers.dense({ units: 1, kernelInitializer: init(hidden.length), ...(hidden.length === 0 ? { inputShape: [inputSize(window)] } : {}) }));
  model.compile({ optimizer: tf.train.adam(learningRate), loss: "meanSquaredError" });
  return model;
}

/** Disposes a model made by `createForecastModel` together with its optimizer. */
export function disposeForecastModel(model: LayersModel): void {
  const optimizer = model.optimizer;
  model.dispose();
  optimizer?.dispose();
}

/** What each finished epoch reports (the training issue turns it into an event). */
export interface EpochReport {
  /** 0-based. */
  epoch: number;
  loss: number;
  valLoss?: number;
  /** Training samples seen in the epoch. */
  samples: number;
  durationMs: number;
}

export interface TrainOptions {
  inputs: number[][];
  targets: number[];
  epochs: number;
  batchSize: number;
  /** Fraction held out from the end (tfjs takes it before shuffling, so it is deterministic). */
  validationSplit?: number;
  /** Explicit validation samples; wins over `validationSplit`. */
  validationData?: { inputs: number[][]; targets: number[] };
  /** Shuffle training samples each epoch (default true). */
  shuffle?: boolean;
  onEpochEnd?: (report: EpochReport) => void | Promise<void>;
}

/** Per-epoch losses of one `trainForecastModel` call. */
export interface TrainHistory {
  loss: number[];
  valLoss?: number[];
}

/** Fits `model` (compiled, e.g. by `createForecastModel`) and returns its losses; input tensors are disposed. */
export async function trainForecastModel(tf: Tf, model: LayersModel, options: TrainOptions): Promise<TrainHistory> {
  const { inputs, targets, epochs, batchSize, validationSplit, validationData, shuffle = true, onEpochEnd } = options;
  if (inputs.length === 0 || inputs.length !== targets.length) throw new RangeError(`need as many targets as inputs, and at least one (got ${inputs.length} inputs, ${targets.length} targets)`);
  const x = tf.tensor2d(inputs);
  const y = tf.tensor2d(targets, [targets.length, 1]);
  const val = validationData ? [tf.tensor2d(validationData.inputs), tf.tensor2d(validationData.targets, [validationData.targets.length, 1])] as const : undefined;
  const trainSamples = val || !validationSplit ? inputs.length : inputs.length - Math.floor(inputs.length * validationSplit);
  let epochStart = performance.now();
  try {
    const history = await model.fit(x, y, {
      epochs,
      batchSize,
      shuffle,
      verbose: 0,
      ...(val ? { validationData: [val[0], val[1]] } : validationSplit ? { validationSplit } : {}),
      callbacks: {
        onEpochBegin: async () => {
          epochStart = performance.now();
        },
        onEpochEnd: async (epoch, logs) => {
          const report: EpochReport = { epoch, loss: Number(logs?.loss), samples: trainSamples, durationMs: performance.now() - epochStart };
          if (logs?.val_loss !== undefined) report.valLoss = Number(logs.val_loss);
          await onEpochEnd?.(report);
        },
      },
    });
    const loss = (history.history.loss ?? []).map(Number);
    const valLoss = history.history.val_loss?.map(Number);
    return valLoss ? { loss, valLoss } : { loss };
  } finally {
    x.dispose();
    y.dispose();
    val?.[0].dispose();
    val?.[1].dispose();
  }
}

/** Predicted next temperatures in °C for normalised input vectors. */
export function predictTemperatures(tf: Tf, model: LayersModel, inputs: number[][], stats: NormalisationStats): number[] {
  if (inputs.length === 0) return [];
  const norm = normaliser(stats);
  const out = tf.tidy(() => model.predict(tf.tensor2d(inputs)) as Tensor);
  try {
    return Array.from(out.dataSync(), norm.denormaliseTemperature);
  } finally {
    out.dispose();
  }
}

/** Errors of a model on samples, in °C. `residualStd` goes into the artifact for anomaly scores. */
export interface ForecastErrors {
  mae: number;
  rmse: number;
  /** Standard deviation of (actual − predicted), °C; at least 1e-3 so it can divide. */
  residualStd: number;
  samples: number;
}

/** Measures a model on normalised samples (e.g. a validation or test split). */
export function evaluateForecastModel(tf: Tf, model: LayersModel, samples: { inputs: number[][]; targets: number[] }, stats: NormalisationStats): ForecastErrors {
  const norm = normaliser(stats);
  const predicted = predictTemperatures(tf, model, samples.inputs, stats);
  const residuals = predicted.map((p, i) => norm.denormaliseTemperature(samples.targets[i]!) - p);
  const n = residuals.length || 1;
  const mean = residuals.reduce((s, r) => s + r, 0) / n;
  const mae = residuals.reduce((s, r) => s + Math.abs(r), 0) / n;
  const rmse = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / n);
  const std = Math.sqrt(residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / n);
  return { mae, rmse, residualStd: Math.max(std, 1e-3), samples: residuals.length };
}
