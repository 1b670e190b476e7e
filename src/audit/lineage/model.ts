import { NotFoundError } from "../../errors.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { readStream } from "../../store/read-stream.ts";
import type { AuditPlaces } from "../places.ts";
import { eventsOf } from "../read.ts";
import { tracePublication, type PublicationLineage } from "./publication.ts";
import { activationsOf, traceRollout, type ActivationRecord, type RolloutLineage } from "./rollout.ts";
import { traceData, traceRun, type DataLineage, type RunLineage } from "./training.ts";

/** A period during which an edge ran the version: from its activation to the next activation of another version (open = still running it). */
export interface ActivePeriod {
  from: string;
  until?: string;
  cause?: string;
  rolloutId?: string;
  replacedBy?: string;
}

/** What one edge did with the version, from its own INFERENCES. */
export interface EdgeUsage {
  edge: string;
  /** Why it could not be counted (the edge was unreachable). */
  unreachable?: string;
  inferences: number;
  decisions: number;
  /** Decisions per action (`cooling_on`, ...). */
  actions: Record<string, number>;
  firstInferenceAt?: string;
  lastInferenceAt?: string;
  periods: ActivePeriod[];
  failures: Array<{ at: string; reason: string; rolloutId?: string }>;
}

/** `tide audit model VERSION`: where and when it ran, how it got there, how many decisions it made, and where it came from. */
export interface ModelLineage {
  version: string;
  model?: PublicationLineage;
  run?: RunLineage;
  data?: DataLineage;
  rollouts: RolloutLineage[];
  edges: EdgeUsage[];
  /** Joint inference: edge inferences the cloud answered with this version. */
  cloudOffloads: number;
  decisions: number;
  notes: string[];
}

function periodsOf(activations: readonly ActivationRecord[], edge: string, version: string): ActivePeriod[] {
  const mine = activations.filter((a) => a.edge === edge && a.status === "activated").sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const periods: ActivePeriod[] = [];
  for (let i = 0; i < mine.length; i++) {
    const a = mine[i]!;
    if (a.version !== version) continue;
    const next = mine.slice(i + 1).find((b) => b.version !== version);
    periods.push({ from: a.at, ...(a.cause ? { cause: a.cause } : {}), ...(a.rolloutId ? { rolloutId: a.rolloutId } : {}), ...(next ? { until: next.at, replacedBy: next.version } : {}) });
    if (next) i = mine.indexOf(next) - 1;
  }
  return periods;
}

export async function traceModel(places: AuditPlaces, version: string): Promise<ModelLineage> {
  const notes: string[] = [];
  const model = await tracePublication(places.cloud, version);
  const activations = await activationsOf(places.cloud);
  const lineage: ModelLineage = { version, rollouts: [], edges: [], cloudOffloads: 0, decisions: 0, notes };
  if (model) lineage.model = model;

  const rolloutIds = new Set<string>();
  for (const { event } of await eventsOf(places.cloud, { stream: "ROLLOUTS", domain: CLOUD_DOMAIN })) {
    if ((event.type === "tide.rollout.requested.v1" || event.type === "tide.rollout.planned.v1") && event.data.version === version) rolloutIds.add(event.data.rolloutId);
  }
  for (const id of rolloutIds) {
    const rollout = await traceRollout(places.cloud, id);
    if (rollout) lineage.rollouts.push(rollout);
  }

  for (const edge of places.edges) {
    const usage: EdgeUsage = {
      edge: edge.id,
      inferences: 0,
      decisions: 0,
      actions: {},
      periods: periodsOf(activations, edge.id, version),
      failures: activations
        .filter((a) => a.edge === edge.id && a.version === version && a.status === "failed")
        .map((a) => ({ at: a.at, reason: a.reason ?? "", ...(a.rolloutId ? { rolloutId: a.rolloutId } : {}) })),
    };
    if (!edge.nc) usage.unreachable = edge.unreachable ?? "not connected";
    else {
      for await (const { event } of readStream(edge.nc, { stream: "INFERENCES", domain: edge.domain, onInvalid: () => undefined })) {
        if (event.type === "tide.inference.completed.v1") {
          const d = event.data;
          if (d.offload?.used && d.offload.cloudModelVersion === version) lineage.cloudOffloads++;
          if (d.modelVersion !== version) continue;
          usage.inferences++;
          usage.firstInferenceAt ??= event.metadata.time;
          usage.lastInferenceAt = event.metadata.time;
        } else if (event.type === "tide.decision.made.v1" && event.data.basis === "model" && event.data.modelVersion === version) {
          usage.decisions++;
          usage.actions[event.data.action] = (usage.actions[event.data.action] ?? 0) + 1;
        }
      }
    }
    if (usage.inferences > 0 || usage.periods.length > 0 || usage.failures.length > 0 || usage.unreachable) lineage.edges.push(usage);
    lineage.decisions += usage.decisions;
  }

  if (!model && lineage.edges.every((e) => e.inferences === 0 && e.periods.length === 0)) {
    throw new NotFoundError(`no model ${version}: no events on the cloud MODELS and no edge ran it`);
  }
  if (!model) notes.push(`model ${version} has no events on the cloud MODELS`);
  if (model?.runId) {
    const run = await traceRun(places.cloud, model.runId);
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
    } else notes.push(`training run ${model.runId} has no events on the cloud TRAINING`);
  }
  return lineage;
}
