import type Database from "better-sqlite3";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { InferenceEngine } from "../../edge-runtime/inference/engine.ts";
import type { TrainingConfig } from "./config.ts";
import { decideDrift, forecastCases, type DriftDecision, type RecentReading } from "./drift.ts";
import type { RunBook } from "./run-book.ts";

/** Forecasts replayed per check at most (the newest). */
export const MAX_FORECASTS = 2000;

/** The production model as the drift monitor needs it. */
export interface ProductionInfo {
  version: string;
  window: number;
  /** Its test MAE at publication (°C). */
  publishedMae: number;
  /** Last READINGS seq of its training data. */
  toSeq: number;
}

/** What the drift monitor reads and how it asks for a run. */
export interface DriftMonitorOptions {
  /** The cloud projection database (its `recent_readings` table). */
  db: Database.Database;
  engine: InferenceEngine;
  production: () => ProductionInfo | undefined;
  runs: RunBook;
  config: Readonly<TrainingConfig>;
  request: (detail: string) => Promise<unknown>;
  logger: Logger;
  now?: () => number;
}

/**
 * Drift as the cloud can see it. Edge inferences stay on the edges, so the
 * cloud measures the error the edges would see: it replays the production
 * model (the cloud engine, which runs the same artifact) over the newest
 * readings of every device from the `recent_readings` projection, one step
 * ahead, on readings after the model's training range, and compares that
 * MAE with the model's test MAE at publication.
 */
export function startDriftMonitor(options: DriftMonitorOptions) {
  const { db, engine, production, runs, config, request, logger, now = Date.now } = options;
  const select = db.prepare<[], RecentReading>("SELECT edge, device, seq, temperature, humidity FROM recent_readings");
  let checking = false;

  async function check(): Promise<DriftDecision> {
    const model = production();
    if (!model) return { request: false, why: "no production model" };
    if (checking) return { request: false, why: "a check is running" };
    checking = true;
    try {
      // The newest forecasts only: a big fleet would otherwise replay tens of thousands every check.
      const cases = forecastCases(select.all(), model.window, model.toSeq)
        .sort((a, b) => b.targetSeq - a.targetSeq)
        .slice(0, MAX_FORECASTS);
      const results = await Promise.all(cases.map((c) => engine.predict({ device: c.device, window: c.window })));
      // Forecasts answered by another version (a swap during the check) do not measure this one.
      const errors = results.flatMap((r, i) => (r.modelVersion === model.version ? [Math.abs(r.prediction.temperature - cases[i]!.actual)] : []));
      const recentMae = errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : 0;
      const lastDrift = runs.lastRequestOf("drift");
      const decision = decideDrift(config.drift, {
        now: now(),
        production: { version: model.version, publishedMae: model.publishedMae },
        recentMae,
        samples: errors.length,
        inFlight: runs.inFlight(),
        ...(lastDrift ? { lastDriftAt: Date.parse(lastDrift.requestedAt) } : {}),
      });
      if (decision.request) {
        await request(decision.detail);
        logger.warn({ detail: decision.detail }, "drift: training requested");
      } else {
        logger.debug({ why: decision.why, recentMae, samples: errors.length }, "no drift");
      }
      return decision;
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, "drift check failed");
      return { request: false, why: `check failed: ${errorMessage(error)}` };
    } finally {
      checking = false;
    }
  }

  const timer = config.drift.enabled ? setInterval(() => void check(), config.drift.checkSeconds * 1000) : undefined;
  timer?.unref();
  return {
    check,
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
