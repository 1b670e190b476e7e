import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { formatIssues } from "../events/catalogue.ts";
import { DEFAULT_WINDOW } from "../model/features.ts";
import { QUANTIZATIONS } from "../model/quantize.ts";

const fraction = () => z.number().min(0.05).max(0.4);

/**
 * The trainer's settings: what a run trains, when runs are triggered, and how
 * crashed runs are detected. Parsed once at start; unknown keys are refused so
 * a typo fails loudly instead of silently keeping a default.
 */
export const TrainingConfig = z.strictObject({
  /** Run the trainer in `tide cloud` at all. */
  enabled: z.boolean().default(true),
  epochs: z.number().int().min(1).max(10_000).default(20),
  batchSize: z.number().int().min(1).max(8192).default(64),
  /** Readings per input window (W). */
  window: z.number().int().min(1).max(256).default(DEFAULT_WINDOW),
  hidden: z.array(z.number().int().min(1).max(1024)).max(4).default([32, 16]),
  learningRate: z.number().positive().max(1).default(0.002),
  /** Seed of the initial weights and of the epochs' sample order: a run is reproducible on the same backend. */
  seed: z.number().int().min(0).default(42),
  /** Chronological split: the newest `test` share is held out, the `validation` share before it validates epochs. */
  split: z.strictObject({ validation: fraction().default(0.15), test: fraction().default(0.15) }).prefault({}),
  /** A run with fewer training samples than this fails (`dataset`) instead of training on noise. */
  minTrainSamples: z.number().int().min(1).default(100),
  /** A run reads at most the newest this many readings of its range. */
  maxReadings: z.number().int().min(10).default(200_000),
  /** How published artifacts store weights (edges load them as they are). */
  quantization: z.enum(QUANTIZATIONS).default("none"),
  schedule: z
    .strictObject({
      /** Request a run once this many new readings reached the cloud since the last run's data (0 = off). */
      everyReadings: z.number().int().min(0).default(0),
      /** Request a run this often when there are new readings (0 = off). */
      everyMinutes: z.number().min(0).default(60),
      checkSeconds: z.number().positive().default(10),
    })
    .prefault({}),
  drift: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Drift = the production model's recent error above `ratio` × its error at publication ... */
      ratio: z.number().min(1).default(2),
      /** ... and above this many °C (so a tiny published error does not make noise look like drift). */
      minMae: z.number().nonnegative().default(0.3),
      /** Recent predictions needed before drift is judged. */
      minSamples: z.number().int().min(1).default(100),
      checkSeconds: z.number().positive().default(30),
      /** No second drift request this soon after one. */
      cooldownMinutes: z.number().min(0).default(30),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      /** How long a trainer that owns a running run has to answer a ping before the run is declared crashed. */
      pingTimeoutMs: z.number().int().positive().default(1500),
      /** How often running runs of other trainers are checked. */
      sweepSeconds: z.number().positive().default(30),
    })
    .prefault({}),
});
/** Parsed settings (defaults filled in). */
export type TrainingConfig = z.output<typeof TrainingConfig>;
/** Settings as written in training.json or passed to startCloudServices. */
export type TrainingConfigInput = z.input<typeof TrainingConfig>;

/** Parse settings, failing with every issue. */
export function parseTrainingConfig(input: unknown, source = "training settings"): Readonly<TrainingConfig> {
  const parsed = TrainingConfig.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(`${source} are invalid: ${formatIssues(parsed.error).join("; ")}`);
  return Object.freeze(parsed.data);
}

/** `<dir>/training.json`: the trainer's settings for a topology (optional). */
export function trainingConfigPath(dir: string): string {
  return join(dir, "training.json");
}

/** The settings of a topology dir: `<dir>/training.json` if present, else the defaults. */
export function loadTrainingConfig(dir: string): Readonly<TrainingConfig> {
  const path = trainingConfigPath(dir);
  if (!existsSync(path)) return parseTrainingConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseTrainingConfig(raw, path);
}
