import { z } from "zod";

/**
 * One reading as the models see it. `seq` is the reading's stream sequence
 * (edge or cloud READINGS), so every window can name the events it came from.
 */
export interface ReadingPoint {
  seq: number;
  temperature: number;
  humidity: number;
  /** Readings of several devices may be mixed; windows never cross devices. */
  device?: string;
}

/** Mean and standard deviation of one feature. */
export const FeatureStats = z.object({ mean: z.number(), std: z.number().positive() });
export type FeatureStats = z.infer<typeof FeatureStats>;

/** Normalisation statistics; they travel with a model in its artifact. */
export const NormalisationStats = z.object({ temperature: FeatureStats, humidity: FeatureStats });
export type NormalisationStats = z.infer<typeof NormalisationStats>;

/** Default window length W: the last 8 readings of a device. */
export const DEFAULT_WINDOW = 8;

/** Features per time step, in input-vector order. */
export const FEATURES = ["temperature", "humidity"] as const;

/** Length of the model input vector for a window of `window` readings. */
export const inputSize = (window: number): number => window * FEATURES.length;

/** Below this a feature is treated as constant and scaled by 1, so normalising never divides by ~0. */
const MIN_STD = 1e-6;

function featureStats(values: readonly number[]): FeatureStats {
  if (values.length === 0) return { mean: 0, std: 1 };
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  const std = Math.sqrt(variance);
  return { mean, std: std < MIN_STD ? 1 : std };
}

/** Population mean and standard deviation of each feature (std 1 for a constant or empty feature). */
export function computeStats(readings: readonly ReadingPoint[]): NormalisationStats {
  return {
    temperature: featureStats(readings.map((r) => r.temperature)),
    humidity: featureStats(readings.map((r) => r.humidity)),
  };
}

/**
 * Scales readings with fixed statistics. The input vector of a window is
 * interleaved per time step, oldest first: `[t0, h0, t1, h1, ..., t(W-1), h(W-1)]`.
 */
export function normaliser(stats: NormalisationStats) {
  const { temperature: t, humidity: h } = stats;
  /**
   * Writes the input vector of `points[from..to)` into `into` at `offset`
   * (no allocation: the inference engine packs whole batches with it).
   */
  function writeInput(points: readonly ReadingPoint[], into: Float32Array | number[], offset = 0, from = 0, to = points.length): void {
    for (let i = from, at = offset; i < to; i++, at += 2) {
      const p = points[i]!;
      into[at] = (p.temperature - t.mean) / t.std;
      into[at + 1] = (p.humidity - h.mean) / h.std;
    }
  }
  return {
    stats,
    temperature: (celsius: number): number => (celsius - t.mean) / t.std,
    humidity: (percent: number): number => (percent - h.mean) / h.std,
    /** Back from normalised units to °C. */
    denormaliseTemperature: (z: number): number => z * t.std + t.mean,
    writeInput,
    /** The input vector of `points` (all of them: pass exactly W). */
    input(points: readonly ReadingPoint[]): number[] {
      const out = new Array<number>(points.length * FEATURES.length);
      writeInput(points, out);
      return out;
    },
  };
}
export type Normaliser = ReturnType<typeof normaliser>;

/** Training samples: input vectors, normalised next temperatures, and the seqs of each window. */
export interface Windows {
  inputs: number[][];
  targets: number[];
  /** For each sample, the seqs of its W input readings (oldest first). */
  inputSeqs: number[][];
  /** For each sample, the seq of the reading whose temperature is the target. */
  targetSeqs: number[];
}

function groupByDevice(readings: readonly ReadingPoint[]): ReadingPoint[][] {
  const groups = new Map<string, ReadingPoint[]>();
  for (const reading of readings) {
    const key = reading.device ?? "";
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(reading);
  }
  return [...groups.values()];
}

/**
 * Sliding windows of W consecutive readings per device (in the order given),
 * each with the next reading's temperature as target, normalised with `stats`
 * (computed from `readings` when not given). Devices appear in order of first
 * appearance, so the same readings always give the same samples.
 */
export function buildWindows(readings: readonly ReadingPoint[], window: number = DEFAULT_WINDOW, stats: NormalisationStats = computeStats(readings)): Windows {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`);
  const norm = normaliser(stats);
  const result: Windows = { inputs: [], targets: [], inputSeqs: [], targetSeqs: [] };
  for (const series of groupByDevice(readings)) {
    for (let end = window; end < series.length; end++) {
      const points = series.slice(end - window, end);
      const next = series[end]!;
      result.inputs.push(norm.input(points));
      result.targets.push(norm.temperature(next.temperature));
      result.inputSeqs.push(points.map((p) => p.seq));
      result.targetSeqs.push(next.seq);
    }
  }
  return result;
}
