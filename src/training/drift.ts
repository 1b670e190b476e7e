import type { ReadingPoint } from "../model/features.ts";
import type { TrainingConfig } from "./config.ts";

/** One one-step-ahead forecast to check: the readings before a target, and the target's actual temperature. */
export interface ForecastCase {
  device: string;
  /** W + 1 readings, oldest first (what the inference engine needs for a model answer). */
  window: ReadingPoint[];
  actual: number;
  targetSeq: number;
}

/** A stored recent reading (the `recent_readings` projection's row). */
export interface RecentReading {
  edge: string;
  device: string;
  seq: number;
  temperature: number;
  humidity: number;
}

/**
 * The forecasts the production model can be checked on: for every reading
 * after `afterSeq` (the end of the model's training data, so it is judged only
 * on readings it never saw) with `window + 1` earlier readings of its device.
 */
export function forecastCases(rows: readonly RecentReading[], window: number, afterSeq: number): ForecastCase[] {
  const byDevice = new Map<string, RecentReading[]>();
  for (const row of rows) {
    const key = `${row.edge}/${row.device}`;
    let series = byDevice.get(key);
    if (!series) byDevice.set(key, (series = []));
    series.push(row);
  }
  const cases: ForecastCase[] = [];
  for (const [device, series] of byDevice) {
    series.sort((a, b) => a.seq - b.seq);
    for (let i = window + 1; i < series.length; i++) {
      const target = series[i]!;
      if (target.seq <= afterSeq) continue;
      const points = series.slice(i - window - 1, i).map((r) => ({ seq: r.seq, device, temperature: r.temperature, humidity: r.humidity }));
      cases.push({ device, window: points, actual: target.temperature, targetSeq: target.seq });
    }
  }
  return cases;
}

/** What drift is judged on, measured by the monitor. */
export interface DriftState {
  now: number;
  /** The production model now: its version and its test MAE when it was published. */
  production: { version: string; publishedMae: number };
  /** Its MAE on the recent forecasts, and how many there were. */
  recentMae: number;
  samples: number;
  inFlight: boolean;
  /** When the last drift request was made (epoch ms). */
  lastDriftAt?: number;
}

/** Request a run (with the measurement as its detail), or not and why. */
export type DriftDecision = { request: true; detail: string } | { request: false; why: string };

/**
 * Drift: the production model's error on the newest cloud readings has risen
 * past `ratio` × its error at publication (and past `minMae`), measured on at
 * least `minSamples` forecasts. No request while a run is in flight or within
 * the cooldown of the last drift request.
 */
export function decideDrift(config: TrainingConfig["drift"], state: DriftState): DriftDecision {
  const { production, recentMae, samples } = state;
  if (state.inFlight) return { request: false, why: "a training run is in flight" };
  if (samples < config.minSamples) return { request: false, why: `${samples} recent forecast(s), need ${config.minSamples}` };
  const threshold = Math.max(config.ratio * production.publishedMae, config.minMae);
  if (recentMae <= threshold) return { request: false, why: `recent MAE ${recentMae.toFixed(3)} °C within threshold ${threshold.toFixed(3)} °C` };
  if (state.lastDriftAt !== undefined && state.now - state.lastDriftAt < config.cooldownMinutes * 60_000) {
    return { request: false, why: `drifting, but the last drift request was less than ${config.cooldownMinutes} min ago` };
  }
  return {
    request: true,
    detail:
      `production ${production.version}: MAE ${recentMae.toFixed(3)} °C on ${samples} forecasts of the newest cloud readings ` +
      `vs ${production.publishedMae.toFixed(3)} °C at publication (threshold ${threshold.toFixed(3)} °C = max(${config.ratio} × published, ${config.minMae}))`,
  };
}
