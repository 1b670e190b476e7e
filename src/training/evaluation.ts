import type { LayersModel } from "@tensorflow/tfjs";
import type { JetStreamClient } from "nats";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { LoadedModel } from "../model/artifact.ts";
import type { Tf } from "../model/backend.ts";
import { buildWindows, normaliser } from "../model/features.ts";
import { evaluateForecastModel, predictTemperatures, type ForecastErrors } from "../model/forecast-model.ts";
import { loadModelFromObjectStore } from "../../edge-runtime/inference/model-source.ts";
import { inSeqOrder, persistenceMae, toPoint, type Dataset, type TrainingReading } from "./dataset.ts";
import type { PublishedModel } from "./model-book.ts";

/** The candidate's errors on the held-out test split, and persistence's on the same samples (°C). */
export interface CandidateEvaluation {
  test: ForecastErrors;
  /** On the validation split: its residual spread scales anomaly scores on the edges. */
  validation: ForecastErrors;
  persistenceMae: number;
}

/** The candidate on the held-out test split (the gate's figure) and on validation (for its residual spread), and persistence on the test split. */
export function evaluateCandidate(tf: Tf, model: LayersModel, dataset: Dataset): CandidateEvaluation {
  return {
    test: evaluateForecastModel(tf, model, dataset.test, dataset.stats),
    validation: evaluateForecastModel(tf, model, dataset.validation, dataset.stats),
    persistenceMae: persistenceMae(dataset.test, dataset.stats, dataset.window),
  };
}

/**
 * Another model's MAE on the given targets of `readings`, with *its own*
 * window and normalisation (the production model may predate a settings
 * change). Targets too early in a device's series for its window are skipped.
 */
export function evaluateOnTargets(tf: Tf, loaded: LoadedModel, readings: readonly TrainingReading[], targetSeqs: readonly number[]): { mae: number; samples: number } {
  const { window, normalisation } = loaded.meta;
  const windows = buildWindows(inSeqOrder(readings).map(toPoint), window, normalisation);
  const wanted = new Set(targetSeqs);
  const picked = windows.targetSeqs.flatMap((seq, i) => (wanted.has(seq) ? [i] : []));
  if (picked.length === 0) return { mae: 0, samples: 0 };
  const norm = normaliser(normalisation);
  const predicted = predictTemperatures(tf, loaded.model, picked.map((i) => windows.inputs[i]!), normalisation);
  const mae = predicted.reduce((sum, p, k) => sum + Math.abs(norm.denormaliseTemperature(windows.targets[picked[k]!]!) - p), 0) / picked.length;
  return { mae, samples: picked.length };
}

/**
 * The production model's MAE on the candidate's test targets, loaded from its
 * verified artifact. If it cannot be loaded the gate cannot compare, so the
 * run fails — unless it is forced, which publishes without the comparison.
 */
export async function compareWithProduction(
  deps: { tf: Tf; js: JetStreamClient; logger: Logger },
  production: PublishedModel,
  readings: readonly TrainingReading[],
  targetSeqs: readonly number[],
  force: boolean,
): Promise<{ version: string; mae: number; samples: number } | undefined> {
  const { bucket, name, digest } = production.artifact;
  let loaded;
  try {
    loaded = await loadModelFromObjectStore(deps.tf, deps.js, bucket, name, { sha256: digest.sha256, size: digest.size, version: production.version });
  } catch (error) {
    const message = `cannot load production model ${production.version} (${bucket}/${name}) to compare against: ${errorMessage(error)}`;
    if (!force) throw new Error(message, { cause: error });
    deps.logger.warn({ version: production.version, err: errorMessage(error) }, `${message}; forced, so publishing without the comparison`);
    return undefined;
  }
  try {
    const { mae, samples } = evaluateOnTargets(deps.tf, loaded, readings, targetSeqs);
    if (samples > 0) return { version: production.version, mae, samples };
    // Its window is longer than any test target's history: no comparison, so no publication unless forced.
    const message = `production model ${production.version} (window ${loaded.meta.window}) cannot be evaluated on any test sample`;
    if (!force) throw new Error(message);
    deps.logger.warn({ version: production.version }, `${message}; forced, so publishing without the comparison`);
    return undefined;
  } finally {
    loaded.model.dispose();
  }
}
