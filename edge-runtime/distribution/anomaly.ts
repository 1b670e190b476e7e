import type { Metric, Policy } from "./policy.ts";

/** Detector settings of one rule (policy `anomaly`). */
export type AnomalyParams = Policy["default"]["anomaly"];

/** Running estimate of one metric of one device. */
export interface MetricEstimate {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/** What the detector knows of one device: an estimate per metric. */
export type DeviceEstimates = Readonly<Partial<Record<Metric, MetricEstimate>>>;

/** The detector's verdict on one reading, and the estimates to keep. */
export interface Judgement {
  anomalous: boolean;
  /** The metrics that were out of bounds. */
  metrics: Metric[];
  estimates: DeviceEstimates;
}

/**
 * One EWMA step. The weight is at least 1/n, so the first readings average
 * like a plain mean instead of remembering the very first value too long.
 */
function step(estimate: MetricEstimate | undefined, x: number, alpha: number): MetricEstimate {
  if (!estimate) return { n: 1, mean: x, variance: 0 };
  const n = estimate.n + 1;
  const a = Math.max(alpha, 1 / n);
  const delta = x - estimate.mean;
  return { n, mean: estimate.mean + a * delta, variance: (1 - a) * (estimate.variance + a * delta * delta) };
}

/**
 * Judge one reading against the device's estimates and return the new ones (pure).
 * After `warmup` readings, a metric more than `k` standard deviations from its
 * mean makes the reading anomalous. An anomalous value is folded in clipped to
 * the bound, so one spike does not blind the detector to the next one while a
 * lasting level shift is still learnt, gradually.
 */
export function judge(estimates: DeviceEstimates, values: Readonly<Record<Metric, number>>, params: AnomalyParams): Judgement {
  const next: Partial<Record<Metric, MetricEstimate>> = { ...estimates };
  const out: Metric[] = [];
  for (const metric of params.metrics) {
    const x = values[metric];
    const estimate = estimates[metric];
    let folded = x;
    if (estimate && estimate.n >= params.warmup) {
      const bound = params.k * Math.max(Math.sqrt(estimate.variance), params.minStdDev);
      if (Math.abs(x - estimate.mean) > bound) {
        out.push(metric);
        folded = estimate.mean + Math.sign(x - estimate.mean) * bound;
      }
    }
    next[metric] = step(estimate, folded, params.alpha);
  }
  return { anomalous: out.length > 0, metrics: out, estimates: next };
}
