import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainingConfigInput } from "../training/config.ts";
import { trainingConfigPath } from "../training/config.ts";

/**
 * The demo's trainer settings: a small model trained in seconds, a run every
 * 1500 new readings after the first (which the demo asks for itself once
 * `trainAfter` readings reached the cloud). Written to `<dir>/training.json`
 * only when the file is missing, so a user's own settings win.
 */
export const DEMO_TRAINING: TrainingConfigInput = {
  epochs: 8,
  batchSize: 32,
  hidden: [16],
  minTrainSamples: 60,
  schedule: { everyReadings: 1500, everyMinutes: 0, checkSeconds: 5 },
  drift: { checkSeconds: 15, cooldownMinutes: 5 },
};

/**
 * The demo's rollout settings (`<dir>/rollout.json`, read by the rollout
 * controller): every published model goes out canary-first, observed for a
 * few seconds per stage instead of the default 30. A first model trained on a
 * minute of data is judged on a few dozen live predictions, so the demo allows
 * it up to 2.5× the previous model's error (default 1.25×) before rolling back.
 */
export const DEMO_ROLLOUT = { auto: "canary", canaries: 1, criteria: { minInferences: 30, observeMs: 8000, maxErrorRatio: 2.5, stageTimeoutMs: 90_000 } } as const;

/**
 * The demo's simulated devices: a simulated hour a second, anomalies now and
 * then, and a day that starts at 13:00 UTC, in the warm afternoon. The devices'
 * daily cycle follows their simulated clock; started at the wall-clock hour, a
 * demo run at night saw cool devices, no cooling decision and an empty
 * decisions panel, and what the demo showed depended on when it ran.
 */
export const DEMO_SIMULATION = { speed: 60, anomalyRate: 0.003, startHourUtc: 13 } as const;

const HOUR_MS = 3_600_000;

/** The simulated clock's start: the latest `startHourUtc`:00 UTC at or before `nowMs` (so readings are never from the future). */
export function demoClockStart(nowMs: number, startHourUtc: number = DEMO_SIMULATION.startHourUtc): number {
  const dayStart = nowMs - (nowMs % (24 * HOUR_MS));
  const today = dayStart + startHourUtc * HOUR_MS;
  return today <= nowMs ? today : today - 24 * HOUR_MS;
}

/**
 * Where a run's simulated clock starts: at `demoClockStart`, or, when the
 * directory already holds readings from a later simulated time (an earlier run
 * of the same day), one step after the newest of them. A device's reading id
 * is derived from its edge, device, timestamp and counter, and the counter
 * starts again at 0 in each run: a second run on the same clock re-sent the
 * first run's ids, and JetStream's duplicate window stored almost none of them.
 */
export function resumedClockStart(nowMs: number, newestReadingMs: number | undefined, stepMs: number): number {
  const fresh = demoClockStart(nowMs);
  return newestReadingMs === undefined ? fresh : Math.max(fresh, newestReadingMs + stepMs);
}

/** Write the demo's settings files that are missing; returns the ones written. */
export function ensureDemoSettings(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [path, value] of [
    [trainingConfigPath(dir), DEMO_TRAINING],
    [join(dir, "rollout.json"), DEMO_ROLLOUT],
  ] as const) {
    if (existsSync(path)) continue;
    writeFileSync(path, JSON.stringify(value, null, 2) + "\n");
    written.push(path);
  }
  return written;
}
