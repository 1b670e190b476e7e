import type { LayersModel, Sequential, Tensor } from "@tensorflow/tfjs";
import type { Tf } from "./backend.ts";
import { createRandom } from "../../edge-runtime/simulator/prng.ts";
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
  /** Fraction held out from the end, before any shuffling (so the same samples always validate). */
  validationSplit?: number;
  /** Explicit validation samples; wins over `validationSplit`. */
  validationData?: { inputs: number[][]; targets: number[] };
  /** Shuffle training samples each epoch (default true). */
  shuffle?: boolean;
  /**
   * Seed of the per-epoch shuffle. With it (and a seeded model), the same
   * samples on the same backend train the same model, run after run; without
   * it each run shuffles differently.
   */
  shuffleSeed?: number;
  /**
   * With validation samples: end with the weights of the epoch whose
   * validation loss was lowest, not those of the last epoch (a late epoch can
   * overshoot on noisy data). Default false.
   */
  restoreBest?: boolean;
  /**
   * How often fit yields to the event loop (tfjs `yieldEvery`; default tfjs's
   * `auto`). A service that trains while it answers requests passes `batch`.
   */
  yieldEvery?: "auto" | "batch" | "epoch" | "never" | number;
  /** After each epoch. Setting `model.stopTraining` in it ends training after that epoch. */
  onEpochEnd?: (report: EpochReport) => void | Promise<void>;
}

/** Per-epoch losses of one `trainForecastModel` call. */
export interface TrainHistory {
  loss: number[];
  valLoss?: number[];
  /** With `restoreBest`: the 0-based epoch whose weights the model ended with. */
  bestEpoch?: number;
}

/** A permutation of 0..n-1 (Fisher–Yates) drawn from `next`. */
function permutation(n: number, next: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Fits `model` (compiled, e.g. by `createForecastModel`) and returns its
 * losses; every tensor it makes is disposed. One `fit` per epoch, on samples
 * in an order drawn from `shuffleSeed`, so runs can be reproduced (tfjs's own
 * shuffle uses `Math.random`); the optimizer's state carries across epochs.
 */
export async function trainForecastModel(tf: Tf, model: LayersModel, options: TrainOptions): Promise<TrainHistory> {
  const { inputs, targets, epochs, batchSize, validationSplit, validationData, shuffle = true, shuffleSeed, restoreBest = false, yieldEvery, onEpochEnd } = options;
  if (inputs.length === 0 || inputs.length !== targets.length) throw new RangeError(`need as many targets as inputs, and at least one (got ${inputs.length} inputs, ${targets.length} targets)`);
  const held = validationData ? 0 : validationSplit ? Math.floor(inputs.length * validationSplit) : 0;
  const trainSamples = inputs.length - held;
  if (trainSamples === 0) throw new RangeError(`validationSplit ${validationSplit} leaves no training sample of ${inputs.length}`);
  const validation = validationData ?? (held > 0 ? { inputs: inputs.slice(trainSamples), targets: targets.slice(trainSamples) } : undefined);
  const x = tf.tensor2d(inputs.slice(0, trainSamples));
  const y = tf.tensor2d(targets.slice(0, trainSamples), [trainSamples, 1]);
  const val = validation && validation.inputs.length > 0 ? ([tf.tensor2d(validation.inputs), tf.tensor2d(validation.targets, [validation.targets.length, 1])] as const) : undefined;
  const next = shuffleSeed === undefined ? Math.random : createRandom(shuffleSeed, "epoch-order").next;
  const history: { loss: number[]; valLoss: number[] } = { loss: [], valLoss: [] };
  let best: { epoch: number; valLoss: number; weights: Tensor[] } | undefined;
  model.stopTraining = false;
  try {
    for (let epoch = 0; epoch < epochs && !model.stopTraining; epoch++) {
      const started = performance.now();
      const order = shuffle ? tf.tensor1d(permutation(trainSamples, next), "int32") : undefined;
      const [xs, ys] = order ? [tf.gather(x, order), tf.gather(y, order)] : [x, y];
      let logs;
      try {
        const fitted = await model.fit(xs, ys, {
          epochs: 1,
          batchSize,
          shuffle: false,
          verbose: 0,
          ...(yieldEvery === undefined ? {} : { yieldEvery }),
          ...(val ? { validationData: [val[0], val[1]] } : {}),
        });
        logs = fitted.history;
      } finally {
        if (order) tf.dispose([order, xs, ys]);
      }
      const report: EpochReport = { epoch, loss: Number(logs.loss?.[0]), samples: trainSamples, durationMs: performance.now() - started };
      history.loss.push(report.loss);
      if (val) {
        report.valLoss = Number(logs.val_loss?.[0]);
        history.valLoss.push(report.valLoss);
        if (restoreBest && Number.isFinite(report.valLoss) && (!best || report.valLoss < best.valLoss)) {
          if (best) tf.dispose(best.weights);
          best = { epoch, valLoss: report.valLoss, weights: model.getWeights().map((w) => w.clone()) };
        }
      }
      await onEpochEnd?.(report);
    }
    if (best) model.setWeights(best.weights);
    return { loss: history.loss, ...(val ? { valLoss: history.valLoss } : {}), ...(best ? { bestEpoch: best.epoch } : {}) };
  } finally {
    tf.dispose([x, y, ...(val ?? []), ...(best?.weights ?? [])]);
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
