import type { LayersModel } from "@tensorflow/tfjs";
import type { JetStreamClient, NatsConnection } from "nats";
import { ConcurrencyError, errorMessage } from "../errors.ts";
import type { TfBackend } from "../events/inference.ts";
import type { TrainingStage } from "../events/training.ts";
import type { Logger } from "../log.ts";
import type { Tf } from "../model/backend.ts";
import type { ModelSigner } from "../model/signing.ts";
import { createForecastModel, disposeForecastModel, trainForecastModel } from "../model/forecast-model.ts";
import type { TrainingConfig } from "./config.ts";
import { buildDataset } from "./dataset.ts";
import { readTrainingReadings } from "./dataset-reader.ts";
import { compareWithProduction, evaluateCandidate } from "./evaluation.ts";
import { readModelBook } from "./model-book.ts";
import { gateAndPublish } from "./publish.ts";
import type { RunState } from "./run-book.ts";
import { createRunJournal, type RunJournal } from "./run-events.ts";

/** What one run needs from its trainer. */
export interface RunDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  tf: Tf;
  backend: TfBackend;
  config: Readonly<TrainingConfig>;
  /** This trainer's instance id (recorded in `training.started`). */
  trainerId: string;
  source: string;
  /** Signs publications (see PublishDeps). */
  signer?: ModelSigner;
  logger: Logger;
  /** Aborted when the trainer stops: the run ends `failed` (stage `shutdown`) after the current epoch. */
  signal: AbortSignal;
}

/** How a run ended for the trainer that attempted it. */
export type RunOutcome =
  | { outcome: "completed"; version: string; published: boolean }
  | { outcome: "failed"; stage: TrainingStage; reason: string }
  /** Another trainer claimed the request first. */
  | { outcome: "taken" }
  /** Someone else wrote on the run after we claimed it (e.g. declared us dead): we stopped. */
  | { outcome: "lost" }
  /** The trainer was stopping before it claimed the request: left for the next one. */
  | { outcome: "skipped" };

/** An expected way for a run to fail, with its stage. */
class RunFailure extends Error {
  constructor(
    readonly stage: TrainingStage,
    message: string,
  ) {
    super(message);
    this.name = "RunFailure";
  }
}

const isRunConflict = (error: unknown, runId: string) => error instanceof ConcurrencyError && error.subject.endsWith(`.${runId}`) && error.subject.startsWith("tide.training.");

/** Record the failure; a hub hiccup gets a few retries so the run is not left `running`. */
async function recordFailure(journal: RunJournal, runId: string, failure: RunFailure, logger: Logger): Promise<"recorded" | "conflict" | "unrecorded"> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await journal.append({ type: "tide.training.failed.v1", data: { runId, reason: failure.message, stage: failure.stage } });
      return "recorded";
    } catch (error) {
      if (isRunConflict(error, runId)) return "conflict";
      logger.warn({ runId, attempt, err: errorMessage(error) }, "cannot record the run's failure yet");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  return "unrecorded";
}

/**
 * One training run, start to end: read the range, build the dataset, claim
 * the run (`training.started`, expecting the request's seq), train with one
 * event per epoch, evaluate against persistence and production, publish if
 * the gate says so, and end with `training.completed` — or `training.failed`
 * with the stage and reason. Never throws.
 */
export async function executeRun(deps: RunDeps, run: RunState): Promise<RunOutcome> {
  const { nc, js, tf, backend, config, trainerId, source, logger, signal } = deps;
  const { runId, request } = run;
  const log = logger.child({ runId });
  const journal = createRunJournal(js, runId, run.requestedSeq, source);
  const t0 = performance.now();
  const epochs = request.epochs ?? config.epochs;
  let stage: TrainingStage = "dataset";
  let claimed = false;
  let model: LayersModel | undefined;
  try {
    const range = { maxReadings: config.maxReadings, ...(request.since ? { since: new Date(request.since) } : {}), ...(request.until ? { until: new Date(request.until) } : {}) };
    const { readings } = await readTrainingReadings(nc, range);
    const dataset = buildDataset(readings, { window: config.window, split: config.split });
    const { train, validation, test } = dataset;
    if (dataset.fromSeq === undefined || dataset.toSeq === undefined || train.inputs.length < config.minTrainSamples || test.inputs.length === 0) {
      throw new RunFailure(
        "dataset",
        `not enough data: ${dataset.readings} reading(s) from ${dataset.devices} device(s) in the range give ${train.inputs.length} training sample(s); need at least ${config.minTrainSamples}`,
      );
    }
    // Stopping before the claim leaves the request to the next trainer rather than failing it.
    if (signal.aborted) return { outcome: "skipped" };
    const samples = { train: train.inputs.length, validation: validation.inputs.length, test: test.inputs.length };
    await journal.append({
      type: "tide.training.started.v1",
      data: { runId, trainer: trainerId, fromSeq: dataset.fromSeq, toSeq: dataset.toSeq, readings: dataset.readings, devices: dataset.devices, samples, datasetHash: dataset.hash, backend, epochs, window: dataset.window, batchSize: config.batchSize },
    });
    claimed = true;
    log.info({ fromSeq: dataset.fromSeq, toSeq: dataset.toSeq, samples, datasetHash: dataset.hash, epochs }, "training run started");

    stage = "training";
    const net = createForecastModel(tf, { architecture: "residual", window: dataset.window, hidden: config.hidden, learningRate: config.learningRate, seed: config.seed });
    model = net;
    let stop: unknown;
    const history = await trainForecastModel(tf, net, {
      inputs: train.inputs,
      targets: train.targets,
      validationData: validation,
      epochs,
      batchSize: config.batchSize,
      // Reproducible: the same readings, settings and backend train the same model.
      shuffleSeed: config.seed,
      // The published weights are those of the epoch that validated best.
      restoreBest: true,
      // The cloud process answers offload requests while it trains: give the event loop every batch.
      yieldEvery: "batch",
      onEpochEnd: async (report) => {
        if (stop) return;
        if (signal.aborted) {
          stop = new RunFailure("shutdown", `trainer ${trainerId} stopped after epoch ${report.epoch + 1} of ${epochs}`);
          net.stopTraining = true;
          return;
        }
        if (!Number.isFinite(report.loss) || !Number.isFinite(report.valLoss ?? Number.NaN)) {
          stop = new RunFailure("training", `training diverged at epoch ${report.epoch + 1}: loss ${report.loss}, validation loss ${report.valLoss}`);
          net.stopTraining = true;
          return;
        }
        try {
          await journal.append({
            type: "tide.training.epoch.completed.v1",
            data: { runId, epoch: report.epoch + 1, epochs, loss: report.loss, valLoss: report.valLoss!, samples: report.samples, durationMs: report.durationMs },
          });
        } catch (error) {
          stop = error;
          net.stopTraining = true;
        }
      },
    });
    if (stop) throw stop;

    stage = "evaluation";
    const evaluation = evaluateCandidate(tf, net, dataset);
    const book = await readModelBook(nc);
    const parent = book.production();
    const production = parent ? await compareWithProduction({ tf, js, logger: log }, parent, readings, test.targetSeqs, request.force) : undefined;

    stage = "publish";
    // The losses of the epoch whose weights are published (1-based, as the epoch events count).
    const kept = history.bestEpoch ?? history.loss.length - 1;
    const trainingMetrics = { loss: history.loss[kept] ?? Number.NaN, valLoss: history.valLoss?.[kept] ?? Number.NaN, epochs: history.loss.length, bestEpoch: kept + 1, trainSamples: samples.train };
    const outcome = await gateAndPublish(
      { js, tf, source, ...(deps.signer ? { signer: deps.signer } : {}) },
      { runId, model: net, dataset: { ...dataset, fromSeq: dataset.fromSeq, toSeq: dataset.toSeq }, evaluation, ...(production ? { production } : {}), force: request.force, quantization: config.quantization, trainingMetrics },
      { version: book.nextVersion(), parent },
    );
    await journal.append({ type: "tide.training.completed.v1", data: { runId, metrics: outcome.metrics, version: outcome.version, published: outcome.accepted, durationMs: performance.now() - t0 } });
    log.info({ version: outcome.version, published: outcome.accepted, reason: outcome.reason }, "training run completed");
    return { outcome: "completed", version: outcome.version, published: outcome.accepted };
  } catch (error) {
    if (isRunConflict(error, runId)) {
      log.info({ claimed }, claimed ? "someone else ended this run: stopped" : "another trainer claimed this run");
      return claimed ? { outcome: "lost" } : { outcome: "taken" };
    }
    const failure = error instanceof RunFailure ? error : new RunFailure(stage, errorMessage(error));
    const recorded = await recordFailure(journal, runId, failure, log);
    if (recorded === "conflict") return claimed ? { outcome: "lost" } : { outcome: "taken" };
    log.warn({ stage: failure.stage, reason: failure.message, recorded }, "training run failed");
    return { outcome: "failed", stage: failure.stage, reason: failure.message };
  } finally {
    if (model) disposeForecastModel(model);
  }
}
