import { createHash } from "node:crypto";
import { buildWindows, computeStats, FEATURES, type NormalisationStats, type ReadingPoint } from "../model/features.ts";

/** A reading as a training run reads it from the cloud READINGS (seq = that stream's sequence). */
export interface TrainingReading {
  seq: number;
  edge: string;
  device: string;
  temperature: number;
  humidity: number;
}

/** How readings become a dataset; part of the dataset hash. */
export interface DatasetOptions {
  /** Readings per input window (W). */
  window: number;
  /** Shares of the samples held out, newest last: validation, then test. */
  split: { validation: number; test: number };
}

/** Samples of one split: normalised inputs and targets, and the READINGS seq of each target. */
export interface Split {
  inputs: number[][];
  targets: number[];
  targetSeqs: number[];
}

/** The samples of a run, split, with what identifies them. */
export interface Dataset {
  /** SHA-256 (hex) of the format, the options and every reading: equal hashes = equal datasets. */
  hash: string;
  /** Computed on the training split's readings only, so nothing of the held-out data leaks into the model. */
  stats: NormalisationStats;
  window: number;
  readings: number;
  devices: number;
  /** First and last READINGS seq of the readings (undefined when there are none). */
  fromSeq: number | undefined;
  toSeq: number | undefined;
  train: Split;
  validation: Split;
  test: Split;
}

/** Bump when the way readings become samples changes: old and new datasets then hash differently. */
export const DATASET_FORMAT = "tide-dataset/1";

/** Readings in stream order; the builder never depends on the order it was given. */
export function inSeqOrder(readings: readonly TrainingReading[]): TrainingReading[] {
  return [...readings].sort((a, b) => a.seq - b.seq);
}

/** The dataset hash: format, options, features, then one line per reading in seq order. */
export function datasetHash(readings: readonly TrainingReading[], options: DatasetOptions): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ format: DATASET_FORMAT, window: options.window, split: options.split, features: FEATURES }) + "\n");
  for (const r of inSeqOrder(readings)) hash.update(`${r.seq}\t${r.edge}\t${r.device}\t${r.temperature}\t${r.humidity}\n`);
  return hash.digest("hex");
}

/** A device is `edge/device`: two edges may both have a `d1`, and windows never cross devices. */
export const toPoint = (r: TrainingReading): ReadingPoint => ({ seq: r.seq, device: `${r.edge}/${r.device}`, temperature: r.temperature, humidity: r.humidity });

/**
 * Windows of W readings per device with the next temperature as target,
 * split chronologically by target seq: the oldest samples train, the next
 * `split.validation` share validates, the newest `split.test` share is held
 * out for the evaluation gate. A forecaster is judged on data after what it
 * learned from, and the same readings always give the same split.
 */
export function buildDataset(readings: readonly TrainingReading[], options: DatasetOptions): Dataset {
  const ordered = inSeqOrder(readings);
  const points = ordered.map(toPoint);
  const { window } = options;
  // Sample order and target seqs do not depend on the statistics: a first pass finds where the training split ends.
  const probe = buildWindows(points, window, { temperature: { mean: 0, std: 1 }, humidity: { mean: 0, std: 1 } });
  const order = probe.targetSeqs.map((seq, i) => ({ seq, i })).sort((a, b) => a.seq - b.seq).map((s) => s.i);
  const n = order.length;
  const nTest = n < 3 ? 0 : Math.max(1, Math.floor(n * options.split.test));
  const nValidation = n < 3 ? 0 : Math.max(1, Math.floor(n * options.split.validation));
  const nTrain = n - nTest - nValidation;
  const trainEnd = nTrain > 0 ? probe.targetSeqs[order[nTrain - 1]!]! : 0;
  const stats = computeStats(points.filter((p) => p.seq <= trainEnd));
  const windows = buildWindows(points, window, stats);
  const pick = (indices: number[]): Split => ({
    inputs: indices.map((i) => windows.inputs[i]!),
    targets: indices.map((i) => windows.targets[i]!),
    targetSeqs: indices.map((i) => windows.targetSeqs[i]!),
  });
  return {
    hash: datasetHash(ordered, options),
    stats,
    window,
    readings: ordered.length,
    devices: new Set(points.map((p) => p.device)).size,
    fromSeq: ordered[0]?.seq,
    toSeq: ordered.at(-1)?.seq,
    train: pick(order.slice(0, nTrain)),
    validation: pick(order.slice(nTrain, nTrain + nValidation)),
    test: pick(order.slice(nTrain + nValidation)),
  };
}

/**
 * The naive persistence baseline's mean absolute error on a split, °C:
 * "the next temperature is the last one". The last time step's temperature
 * sits at index 2·(W−1) of each (interleaved) input vector.
 */
export function persistenceMae(split: Split, stats: NormalisationStats, window: number): number {
  if (split.inputs.length === 0) return 0;
  const at = FEATURES.length * (window - 1);
  let sum = 0;
  split.inputs.forEach((input, i) => {
    sum += Math.abs(input[at]! - split.targets[i]!) * stats.temperature.std;
  });
  return sum / split.inputs.length;
}
