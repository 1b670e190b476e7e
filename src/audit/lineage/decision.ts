import type { NatsConnection } from "nats";
import { NotFoundError } from "../../errors.ts";
import { subjects, type TideEvent } from "../../events/index.ts";
import { readStream, type StoredEvent } from "../../store/read-stream.ts";
import type { AuditEdge, AuditPlaces } from "../places.ts";
import { eventAt } from "../read.ts";
import { tracePublication, type PublicationLineage } from "./publication.ts";
import { activationAt, activationsOf, traceRollout, type ActivationRecord, type RolloutLineage } from "./rollout.ts";
import { traceData, traceRun, type DataLineage, type RunLineage } from "./training.ts";

/** How the model that decided got onto the edge. */
export type Deployment =
  | { kind: "rollout"; rolloutId: string; cause: string }
  | { kind: "local"; cause: string }
  | { kind: "unknown"; reason: string }
  | { kind: "baseline" };

/** decision → inference → input readings → model version → how it got onto the edge → training run → epochs → data. */
export interface DecisionLineage {
  decision: {
    id: string;
    edge: string;
    device: string;
    action: string;
    basis: string;
    reason: string;
    modelVersion?: string;
    at: string;
    storedAt: string;
    /** Where it is stored: the edge's INFERENCES. */
    domain: string;
    seq: number;
  };
  inference?: { id: string; seq: number; at: string; modelVersion: string; backend?: string; prediction: { temperature: number; humidity?: number }; anomalyScore: number; latencyMs: number; offload?: unknown };
  /** The readings of the window the model saw (edge READINGS), oldest first; the last one triggered the decision. */
  inputs: Array<{ seq: number; id?: string; device?: string; ts?: string; temperature?: number; humidity?: number; subject?: string; missing?: boolean }>;
  model?: PublicationLineage;
  deployment: Deployment;
  activation?: ActivationRecord;
  rollout?: RolloutLineage;
  run?: RunLineage;
  data?: DataLineage;
  /** What could not be followed, and why. */
  notes: string[];
}

type Decision = TideEvent<"tide.decision.made.v1">;
type Inference = TideEvent<"tide.inference.completed.v1">;

async function findFirst(nc: NatsConnection, domain: string, subject: string, match: (e: StoredEvent) => boolean): Promise<StoredEvent | undefined> {
  for await (const stored of readStream(nc, { stream: "INFERENCES", domain, subject, onInvalid: () => undefined })) {
    if (match(stored)) return stored;
  }
  return undefined;
}

/** The decision with this event id on one of the edges (each edge's INFERENCES is searched on its decision subjects). */
async function findDecision(edges: readonly AuditEdge[], id: string): Promise<{ edge: AuditEdge; stored: StoredEvent } | undefined> {
  for (const edge of edges) {
    if (!edge.nc) continue;
    const stored = await findFirst(edge.nc, edge.domain, subjects.decision(edge.id, "*"), (e) => e.event.metadata.id === id);
    if (stored) return { edge, stored };
  }
  return undefined;
}

/** Follow a decision back to the data its model was trained on. */
export async function traceDecision(places: AuditPlaces, decisionId: string): Promise<DecisionLineage> {
  const found = await findDecision(places.edges, decisionId);
  if (!found) {
    const unreachable = places.edges.filter((e) => !e.nc).map((e) => `${e.id} (${e.unreachable})`);
    throw new NotFoundError(`no decision ${decisionId} on ${places.edges.filter((e) => e.nc).map((e) => `edge ${e.id}`).join(", ") || "any edge"}` + (unreachable.length ? `; not searched: ${unreachable.join(", ")}` : ""));
  }
  const { edge, stored } = found;
  const nc = edge.nc!;
  const decision = stored.event as Decision;
  const d = decision.data;
  const notes: string[] = [];
  const lineage: DecisionLineage = {
    decision: {
      id: decision.metadata.id,
      edge: d.edge,
      device: d.device,
      action: d.action,
      basis: d.basis,
      reason: d.reason,
      at: decision.metadata.time,
      storedAt: stored.storedAt,
      domain: edge.domain,
      seq: stored.seq,
      ...(d.modelVersion ? { modelVersion: d.modelVersion } : {}),
    },
    inputs: [],
    deployment: d.basis === "baseline" ? { kind: "baseline" } : { kind: "unknown", reason: "not traced yet" },
    notes,
  };

  if (d.inferenceId) {
    const inferenceStored = await findFirst(nc, edge.domain, subjects.inference(d.edge, d.device), (e) => e.event.metadata.id === d.inferenceId);
    if (inferenceStored) {
      const inference = inferenceStored.event as Inference;
      const i = inference.data;
      lineage.inference = {
        id: inference.metadata.id,
        seq: inferenceStored.seq,
        at: inference.metadata.time,
        modelVersion: i.modelVersion,
        prediction: i.prediction,
        anomalyScore: i.anomalyScore,
        latencyMs: i.latencyMs,
        ...(i.backend ? { backend: i.backend } : {}),
        ...(i.offload ? { offload: i.offload } : {}),
      };
      for (const seq of i.inputSeqs) {
        const reading = await eventAt(nc, edge.domain, "READINGS", seq);
        if (reading?.event.type === "tide.reading.recorded.v1") {
          const r = reading.event.data;
          lineage.inputs.push({ seq, id: reading.event.metadata.id, device: r.device, ts: r.ts, temperature: r.temperature, humidity: r.humidity, subject: reading.subject });
        } else {
          lineage.inputs.push({ seq, missing: true });
          notes.push(`input reading seq ${seq} is no longer in ${edge.domain} READINGS (retention) or is not a reading`);
        }
      }
    } else notes.push(`inference ${d.inferenceId} is not in ${edge.domain} INFERENCES (retention?)`);
  } else notes.push("the decision names no inference");

  if (d.basis === "baseline") return lineage;

  const version = d.modelVersion ?? lineage.inference?.modelVersion;
  if (!version) {
    lineage.deployment = { kind: "unknown", reason: "the decision names no model version" };
    return lineage;
  }
  const model = await tracePublication(places.cloud, version);
  if (model) lineage.model = model;
  else notes.push(`model ${version} has no events on the cloud MODELS`);

  const activation = activationAt(await activationsOf(places.cloud, d.edge), d.edge, version, decision.metadata.time);
  if (activation) {
    lineage.activation = activation;
    // A restart that restores the model keeps the rollout that first put it there; a local activation has none.
    if (activation.rolloutId && activation.cause !== "local") {
      lineage.deployment = { kind: "rollout", rolloutId: activation.rolloutId, cause: activation.cause ?? "rollout" };
      const rollout = await traceRollout(places.cloud, activation.rolloutId);
      if (rollout) lineage.rollout = rollout;
      else notes.push(`rollout ${activation.rolloutId} has no events on the cloud ROLLOUTS`);
    } else lineage.deployment = { kind: "local", cause: activation.cause ?? "local" };
  } else {
    lineage.deployment = { kind: "unknown", reason: `no rollout found: edge ${d.edge} reported no activation of ${version} before the decision (activated locally, or its report has not reached the cloud)` };
  }

  const runId = model?.runId;
  if (runId) {
    const run = await traceRun(places.cloud, runId);
    if (run) {
      lineage.run = run;
      const range = run.fromSeq !== undefined && run.toSeq !== undefined ? { fromSeq: run.fromSeq, toSeq: run.toSeq } : model.dataRange;
      if (range) {
        lineage.data = await traceData(places.cloud, range, {
          ...(run.readings !== undefined ? { readings: run.readings } : {}),
          ...(run.datasetHash ? { datasetHash: run.datasetHash } : {}),
          ...(run.window ? { window: run.window } : {}),
        });
      }
    } else notes.push(`training run ${runId} has no events on the cloud TRAINING`);
  }
  return lineage;
}
