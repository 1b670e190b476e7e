import type { ReadingPoint } from "../../src/model/features.ts";

/** The model version that baseline results carry. */
export const BASELINE_VERSION = "baseline";

/** Readings the baseline fits its trend on. */
export const BASELINE_WINDOW = 8;

/** Floor of the baseline's spread, °C: a perfectly smooth window must not make every wobble an anomaly. */
export const BASELINE_MIN_SPREAD = 0.1;

/** MAD → standard deviation for normal noise. */
const MAD_TO_STD = 1.4826;

/** What the baseline says about one window. */
export interface BaselineOutput {
  temperature: number;
  anomalyScore: number;
  /** Seqs of the readings it used, oldest first. */
  inputSeqs: number[];
}

/** Least-squares line through temps[from..to) against x = 0..n-1, evaluated at x = n (one step ahead). */
function trendNext(points: readonly ReadingPoint[], from: number, to: number): { next: number; residuals: number[] } {
  const n = to - from;
  if (n === 1) return { next: points[from]!.temperature, residuals: [0] };
  const meanX = (n - 1) / 2;
  let meanY = 0;
  for (let i = from; i < to; i++) meanY += points[i]!.temperature;
  meanY /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = from; i < to; i++) {
    const dx = i - from - meanX;
    sxy += dx * (points[i]!.temperature - meanY);
    sxx += dx * dx;
  }
  const slope = sxy / sxx;
  const at = (x: number) => meanY + slope * (x - meanX);
  const residuals: number[] = [];
  for (let i = from; i < to; i++) residuals.push(points[i]!.temperature - at(i - from));
  return { next: at(n), residuals };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The rule-based predictor used before any model is active (and for windows
 * too short for the active model):
 *
 * - prediction: the least-squares linear trend of the last ≤ 8 temperatures,
 *   extrapolated one step (persistence when there is one reading);
 * - anomaly score: how far the last reading is from the same trend fitted on
 *   the ≤ 8 readings before it, in units of that fit's robust spread
 *   (1.4826 · MAD of its residuals, at least 0.1 °C). Fewer than 2 earlier
 *   readings give score 0: there is no trend to depart from yet.
 *
 * Score ≈ how many standard deviations of ordinary noise the last reading is
 * off; the same scale as the model's score, so one threshold serves both.
 */
export function baselinePredict(window: readonly ReadingPoint[]): BaselineOutput {
  const n = window.length;
  if (n === 0) throw new RangeError("the baseline needs at least one reading");
  const start = Math.max(0, n - BASELINE_WINDOW - 1);
  const { next } = trendNext(window, Math.max(0, n - BASELINE_WINDOW), n);
  let anomalyScore = 0;
  if (n - 1 - start >= 2) {
    const before = trendNext(window, start, n - 1);
    const deviations = before.residuals.map((r) => Math.abs(r - median(before.residuals)));
    const spread = Math.max(MAD_TO_STD * median(deviations), BASELINE_MIN_SPREAD);
    anomalyScore = Math.abs(window[n - 1]!.temperature - before.next) / spread;
  }
  const inputSeqs: number[] = [];
  for (let i = start; i < n; i++) inputSeqs.push(window[i]!.seq);
  return { temperature: next, anomalyScore, inputSeqs };
}
