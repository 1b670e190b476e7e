import type { LayersModel, Sequential, Tensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.ts";
import { DEFAULT_WINDOW, FEATURES, inputSize, normaliser, type NormalisationStats } from "./features.ts";

export interface ForecastModelOptions {
  /** Readings per window (W); the input is 2·W features (see `normaliser`). */
  window?: number;
  /** Units of the hidden dense layers. */
  hidden?: readonly number[];
  learningRate?: number;
  /** Seed for the initial weights, for reproducible runs. */
  seed?: number;
  /**
   * `dense` (default): hidden layers straight to the output. `residual`: the
   * output is a linear function of the window, initialised to "the last
   * temperature" (persistence), plus the hidden layers' correction, initialised
   * to 0. An untrained residual model *is* the persistence baseline, so
   * training starts from it and only has to learn what beats it; on noisy
   * sensor data the plain dense net often does not get there (the trainer uses
   * `residual`). Both serialise in tfjs layers format with input 2·W, output 1.
   */
  architecture?: "dense" | "residual";
}

/**
 * A small dense network from one window's input vector (2·W normalised
 * features) to the next temperature (normalised). Compiled with Adam and mean
 * squared error. Uses only the common tfjs API, so it runs on every backend.
 * Free it with `disposeForecastModel` (tfjs's `model.dispose()` leaves an
 * optimizer instance it did not create).
 */
export function createForecastModel(tf: Tf, options?: ForecastModelOptions & { architecture?: "dense" }): Sequential;
export function createForecastModel(tf: Tf, options: ForecastModelOptions): LayersModel;
export function createForecastModel(tf: Tf, options: ForecastModelOptions = {}): LayersModel {
  if (options.architecture === "residual") return createResidualModel(tf, options);
  return createDenseModel(tf, options);
}

function createDenseModel(tf: Tf, options: ForecastModelOptions): Sequential {
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

/** See `ForecastModelOptions.architecture`: linear path from the window (starts as persistence) + dense correction (starts at 0). */
function createResidualModel(tf: Tf, options: ForecastModelOptions): LayersModel {
  const { window = DEFAULT_WINDOW, hidden = [32, 16], learningRate = 0.002, seed } = options;
  const size = inputSize(window);
  const input = tf.input({ shape: [size], name: "window" });
  const linear = tf.layers.dense({ units: 1, name: "linear", kernelInitializer: "zeros" });
  let h = input;
  hidden.forEach((units, i) => {
    const kernelInitializer = tf.initializers.glorotUniform(seed === undefined ? {} : { seed: seed + i });
    h = tf.layers.dense({ units, activation: "relu", kernelInitializer, name: `hidden_${i}` }).apply(h) as typeof input;
  });
  const correction = tf.layers.dense({ units: 1, kernelInitializer: "zeros", name: "correction" }).apply(h) as typeof input;
  const output = tf.layers.add({ name: "next_temperature" }).apply([linear.apply(input) as typeof input, correction]) as typeof input;
  const model = tf.model({ inputs: input, outputs: output, name: "tide_forecast_residual" });
  // Persistence: the last time step's temperature sits at index 2·(W−1) of the interleaved input.
  const kernel = new Float32Array(size);
  kernel[FEATURES.length * (window - 1)] = 1;
  tf.tidy(() => linear.setWeights([tf.tensor2d(kernel, [size, 1]), tf.zeros([1])]));
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
  /**
   * How often fit yields to the event loop (tfjs `yieldEvery`; default tfjs's
   * `auto`). A service that trains while it answers requests passes `batch`.
   */
  yieldEvery?: "auto" | "batch" | "epoch" | "never" | number;
  onEpochEnd?: (report: EpochReport) => void | Promise<void>;
}

/** Per-epoch losses of one `trainForecastModel` call. */
export interface TrainHistory {
  loss: number[];
  valLoss?: number[];
}

/** Fits `model` (compiled, e.g. by `createForecastModel`) and returns its losses; input tensors are disposed. */
export async function trainForecastModel(tf: Tf, model: LayersModel, options: TrainOptions): Promise<TrainHistory> {
  const { inputs, targets, epochs, batchSize, validationSplit, validationData, shuffle = true, yieldEvery, onEpochEnd } = options;
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
      ...(yieldEvery === undefined ? {} : { yieldEvery }),
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
