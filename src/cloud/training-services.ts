import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { BackendSelection } from "../model/backend.ts";
import type { ModelSigner } from "../model/signing.ts";
import type { Route } from "../http/server.ts";
import type { TrainingConfig } from "../training/config.ts";
import { startDriftMonitor } from "../training/drift-monitor.ts";
import { trainingRoutes } from "../training/http.ts";
import { requestTraining } from "../training/run-events.ts";
import { startSchedule } from "../training/schedule.ts";
import { createTrainer } from "../training/trainer.ts";
import type { InferenceEngine } from "../../edge-runtime/inference/engine.ts";
import { startProductionModel } from "./production-model.ts";

/** What the training services share with the rest of the cloud services. */
export interface TrainingServicesOptions {
  nc: NatsConnection;
  db: Database.Database;
  selection: BackendSelection;
  engine: InferenceEngine;
  config: Readonly<TrainingConfig>;
  logger: Logger;
  /** Signs published models (the cloud's key from `<dir>/keys/`). */
  signer?: ModelSigner;
}

/**
 * The cloud's learning half: the production model in the cloud engine
 * (hot-swapped on every publication), the trainer, the schedule and drift
 * triggers, and the HTTP routes (`POST /train`, `GET /models`). With
 * `enabled: false` only the production model and the read-only routes run.
 */
export async function startTrainingServices(options: TrainingServicesOptions) {
  const { nc, db, selection, engine, config, logger } = options;
  const log = logger.child({ service: "training" });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const production = startProductionModel({ nc, tf: selection.tf, engine, logger: log });
  const stops: Array<() => Promise<void> | void> = [() => production.stop()];
  const routes: Route[] = trainingRoutes({ js, db });
  if (!config.enabled) {
    log.info("trainer disabled (training.json enabled: false)");
    return { routes, production, trainer: undefined, stop: async () => void (await production.stop()) };
  }
  const trainer = createTrainer({ nc, tf: selection.tf, backend: selection.backend, config, logger: log, ...(options.signer ? { signer: options.signer } : {}) });
  await trainer.start();
  stops.push(() => trainer.stop());
  const schedule = startSchedule({
    nc,
    runs: trainer.runs,
    config,
    logger: log,
    request: (detail) => requestTraining(js, { reason: "schedule", detail }, "tide://cloud/schedule"),
  });
  stops.push(() => schedule.stop());
  const drift = startDriftMonitor({
    db,
    engine,
    production: () => production.info(),
    runs: trainer.runs,
    config,
    logger: log,
    request: (detail) => requestTraining(js, { reason: "drift", detail }, "tide://cloud/drift"),
  });
  stops.push(() => drift.stop());
  return {
    routes,
    production,
    trainer,
    schedule,
    drift,
    async stop(): Promise<void> {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
export type TrainingServices = Awaited<ReturnType<typeof startTrainingServices>>;
