import type { LayersModel } from "@tensorflow/tfjs";
import type { JetStreamClient } from "nats";
import { ConcurrencyError } from "../errors.ts";
import type { EventData } from "../events/catalogue.ts";
import { createEvent } from "../events/envelope.ts";
import { subjects } from "../events/subjects.ts";
import { loadModelArtifact, serializeModel, sha256 } from "../model/artifact.ts";
import type { Tf } from "../model/backend.ts";
import { evaluateForecastModel } from "../model/forecast-model.ts";
import type { Quantization } from "../model/quantize.ts";
import type { ModelSigner } from "../model/signing.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import type { Dataset } from "./dataset.ts";
import type { CandidateEvaluation } from "./evaluation.ts";
import { decideGate } from "./gate.ts";
import { versionNumber, type PublishedModel } from "./model-book.ts";

/** The cloud Object Store bucket of model artifacts (streams/ creates it as `OBJ_models`). */
export const MODELS_BUCKET = "models";

/** An artifact as stored and verified. */
export interface StoredArtifact {
  bucket: string;
  name: string;
  sha256: string;
  size: number;
}

/**
 * Put an artifact into the models bucket under `name`, then read it back and
 * check size and SHA-256: `model.published` only ever names bytes that are
 * in the store as announced. The digest is also in the object's metadata,
 * for anyone browsing the bucket.
 */
export async function storeArtifact(js: JetStreamClient, name: string, bytes: Uint8Array): Promise<StoredArtifact> {
  const digest = sha256(bytes);
  const store = await js.views.os(MODELS_BUCKET);
  await store.putBlob({ name, description: `tide model ${name} (tide-model/1)`, metadata: { sha256: digest, size: String(bytes.byteLength) } }, bytes);
  const back = await store.getBlob(name);
  if (!back) throw new Error(`artifact ${MODELS_BUCKET}/${name} is not in the object store right after being put`);
  const backDigest = sha256(back);
  if (back.byteLength !== bytes.byteLength || backDigest !== digest) {
    throw new Error(`artifact ${MODELS_BUCKET}/${name} reads back as ${back.byteLength} bytes sha256 ${backDigest}, put ${bytes.byteLength} bytes sha256 ${digest}`);
  }
  return { bucket: MODELS_BUCKET, name, sha256: digest, size: bytes.byteLength };
}

/** Where gate verdicts, artifacts and publications go. */
export interface PublishDeps {
  js: JetStreamClient;
  tf: Tf;
  source: string;
  /** Signs each publication; without one, models are published unsigned and edges refuse them. */
  signer?: ModelSigner;
}

/** A trained model with everything the gate and the publication need. */
export interface Candidate {
  runId: string;
  model: LayersModel;
  dataset: Dataset & { fromSeq: number; toSeq: number };
  evaluation: CandidateEvaluation;
  /** The production model's MAE on the same test targets, when there is one. */
  production?: { version: string; mae: number; samples: number };
  force: boolean;
  quantization: Quantization;
  /** Training figures to carry in the metrics (loss, epochs ...). */
  trainingMetrics: Record<string, number>;
}

/** What the gate decided and, when it published, the publication. */
export interface GateOutcome {
  version: string;
  accepted: boolean;
  reason: string;
  metrics: Record<string, number>;
  published?: EventData<"tide.model.published.v1">;
}

/**
 * Give the candidate the next free version by appending its
 * `model.evaluated` on `tide.model.<version>` expecting an empty subject; a
 * version another trainer took first is skipped. Returns the version and the
 * evaluated event's seq (the publication must follow it).
 */
async function appendEvaluated(deps: PublishDeps, firstTry: string, data: Omit<EventData<"tide.model.evaluated.v1">, "version">): Promise<{ version: string; seq: number }> {
  let n = versionNumber(firstTry) ?? 1;
  for (let attempt = 0; attempt < 50; attempt++, n++) {
    const version = `v${n}`;
    try {
      const event = createEvent({ type: "tide.model.evaluated.v1", data: { ...data, version } }, { source: deps.source });
      const { seq } = await appendToStream(deps.js, subjects.model(version), event, { expectedLastSubjectSequence: 0 });
      return { version, seq };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
  throw new Error(`no free model version from ${firstTry} after 50 tries`);
}

/**
 * The evaluation gate and, if it passes, the publication: `model.evaluated`
 * always; then the artifact (tfjs layers format, quantised as configured)
 * into the Object Store, verified, and `model.published` with its lineage.
 */
export async function gateAndPublish(deps: PublishDeps, candidate: Candidate, next: { version: string; parent: PublishedModel | undefined }): Promise<GateOutcome> {
  const { runId, model, dataset, evaluation, production, force, quantization } = candidate;
  const verdict = decideGate({ candidateMae: evaluation.test.mae, persistenceMae: evaluation.persistenceMae, force, ...(production ? { production } : {}) });
  const metrics: Record<string, number> = {
    // Only finite figures: events are JSON, where NaN would become null and fail the schema.
    ...Object.fromEntries(Object.entries(candidate.trainingMetrics).filter(([, v]) => Number.isFinite(v))),
    mae: evaluation.test.mae,
    rmse: evaluation.test.rmse,
    persistenceMae: evaluation.persistenceMae,
    ...(production ? { productionMae: production.mae } : {}),
    residualStd: evaluation.validation.residualStd,
    testSamples: evaluation.test.samples,
  };
  const { version, seq } = await appendEvaluated(deps, next.version, {
    runId,
    candidate: { mae: evaluation.test.mae, rmse: evaluation.test.rmse },
    ...(production ? { production } : {}),
    persistence: { mae: evaluation.persistenceMae },
    accepted: verdict.accepted,
    forced: force,
    testSamples: evaluation.test.samples,
    reason: verdict.reason,
    dataRange: { fromSeq: dataset.fromSeq, toSeq: dataset.toSeq },
    datasetHash: dataset.hash,
  });
  if (!verdict.accepted) return { version, accepted: false, reason: verdict.reason, metrics };

  const parentVersion = next.parent?.version;
  const meta = {
    version,
    normalisation: dataset.stats,
    window: dataset.window,
    residualStd: evaluation.validation.residualStd,
    labels: { runId, datasetHash: dataset.hash, fromSeq: dataset.fromSeq, toSeq: dataset.toSeq, ...(parentVersion ? { parentVersion } : {}) },
  };
  const bytes = await serializeModel(model, meta, { quantization });
  // What the edges will run is the artifact, not the in-memory model: measure it (for `none` it is the same numbers).
  const served = await loadModelArtifact(deps.tf, bytes);
  try {
    metrics.servedMae = evaluateForecastModel(deps.tf, served.model, dataset.test, dataset.stats).mae;
  } finally {
    served.model.dispose();
  }
  const stored = await storeArtifact(deps.js, version, bytes);
  const published: EventData<"tide.model.published.v1"> = {
    version,
    ...(parentVersion ? { parentVersion } : {}),
    runId,
    dataRange: { fromSeq: dataset.fromSeq, toSeq: dataset.toSeq },
    datasetHash: dataset.hash,
    metrics,
    artifact: { bucket: stored.bucket, name: stored.name, quantization, digest: { sha256: stored.sha256, size: stored.size } },
    ...(deps.signer ? { signature: deps.signer.sign({ version, bucket: stored.bucket, name: stored.name, sha256: stored.sha256, size: stored.size }) } : {}),
  };
  const event = createEvent({ type: "tide.model.published.v1", data: published }, { source: deps.source });
  await appendToStream(deps.js, subjects.model(version), event, { expectedLastSubjectSequence: seq });
  return { version, accepted: true, reason: verdict.reason, metrics, published };
}
