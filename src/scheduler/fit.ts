/**
 * A decayed least-squares line `y = a + b·x`, learned one sample at a time:
 * the compute time (y, ms) of a task kind against the data it read (x, MB).
 * Older samples weigh `decay` less with each new one, so the fit follows a
 * node whose speed changes. Immutable: `addSample` returns a new fit.
 */
export interface Fit {
  /** Samples seen (not decayed). */
  readonly n: number;
  readonly w: number;
  readonly sx: number;
  readonly sy: number;
  readonly sxx: number;
  readonly sxy: number;
}

/** A fit with no samples. */
export const EMPTY_FIT: Fit = { n: 0, w: 0, sx: 0, sy: 0, sxx: 0, sxy: 0 };

/** Weight kept by older samples at each new one. */
export const FIT_DECAY = 0.85;

/** The fit with one more sample (x, y); older samples weigh `decay` less. */
export function addSample(fit: Fit, x: number, y: number, decay = FIT_DECAY): Fit {
  return {
    n: fit.n + 1,
    w: fit.w * decay + 1,
    sx: fit.sx * decay + x,
    sy: fit.sy * decay + y,
    sxx: fit.sxx * decay + x * x,
    sxy: fit.sxy * decay + x * y,
  };
}

/**
 * The fitted y at x, or undefined with no samples. With fewer than 3 samples,
 * or too little spread in x for a slope (all runs read about the same amount),
 * it returns the weighted mean time.
 */
export function predict(fit: Fit, x: number): number | undefined {
  if (fit.n === 0 || fit.w === 0) return undefined;
  const fitted = line(fit);
  return fitted ? Math.max(0, fitted.intercept + fitted.slope * x) : fit.sy / fit.w;
}

/**
 * The fitted line, once there are 3 samples spread enough in x for a slope.
 * A negative slope is noise (more data never takes less time): no line.
 */
export function line(fit: Fit): { intercept: number; slope: number } | undefined {
  if (fit.n < 3 || fit.w === 0) return undefined;
  const meanX = fit.sx / fit.w;
  const meanY = fit.sy / fit.w;
  const varX = fit.sxx / fit.w - meanX * meanX;
  if (varX <= 1e-6 * Math.max(1, meanX * meanX)) return undefined;
  const slope = (fit.sxy / fit.w - meanX * meanY) / varX;
  return slope >= 0 ? { intercept: Math.max(0, meanY - slope * meanX), slope } : undefined;
}
