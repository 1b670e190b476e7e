import type { NatsConnection } from "nats";
import { subjects } from "../../events/index.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { eventsOf } from "../read.ts";

/** An edge's report that it activated a version, or failed to (from the cloud MODELS, sourced from each edge's REPORTS). */
export interface ActivationRecord {
  edge: string;
  version: string;
  status: "activated" | "failed";
  /** When the edge wrote it (ce-time): the cloud may have stored it later, after a link outage. */
  at: string;
  storedAt: string;
  previousVersion?: string;
  rolloutId?: string;
  /** `rollout`, `rollback`, `restore` (restart), `local` (a file, `tide edge --model`). */
  cause?: string;
  reason?: string;
}

/** A rollout as its events on ROLLOUTS tell it. */
export interface RolloutLineage {
  rolloutId: string;
  version?: string;
  previousVersion?: string;
  requestedBy?: string;
  requestedAt?: string;
  strategy?: string;
  stages: Array<{ index: number; name: string; edges: string[]; startedAt?: string; completedAt?: string; verdicts?: Array<{ edge: string; passed: boolean; reason: string }> }>;
  outcome: { status: "requested" | "planned" | "completed" | "rolled_back" | "rejected"; at?: string; reason?: string; toVersion?: string };
}

/** Every activation report of one edge (or of all), in the order the cloud stored them. */
export async function activationsOf(cloud: NatsConnection, edge?: string): Promise<ActivationRecord[]> {
  const events = await eventsOf(cloud, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: edge ? subjects.report(edge) : "tide.report.>" });
  const out: ActivationRecord[] = [];
  for (const { event, storedAt } of events) {
    if (event.type === "tide.model.activated.v1") {
      const d = event.data;
      out.push({
        edge: d.edge,
        version: d.version,
        status: "activated",
        at: event.metadata.time,
        storedAt,
        ...(d.previousVersion ? { previousVersion: d.previousVersion } : {}),
        ...(d.rolloutId ? { rolloutId: d.rolloutId } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      });
    } else if (event.type === "tide.model.activation_failed.v1") {
      const d = event.data;
      out.push({ edge: d.edge, version: d.version, status: "failed", at: event.metadata.time, storedAt, reason: d.reason, ...(d.rolloutId ? { rolloutId: d.rolloutId } : {}) });
    }
  }
  return out;
}

/**
 * The activation that made `version` the edge's model at `time`: the edge's
 * last successful activation at or before `time`, if it is of that version.
 */
export function activationAt(activations: readonly ActivationRecord[], edge: string, version: string, time: string): ActivationRecord | undefined {
  const t = Date.parse(time);
  let last: ActivationRecord | undefined;
  for (const a of activations) {
    if (a.edge !== edge || a.status !== "activated" || Date.parse(a.at) > t) continue;
    if (!last || Date.parse(a.at) >= Date.parse(last.at)) last = a;
  }
  return last?.version === version ? last : undefined;
}

/** Every event of a rollout on ROLLOUTS, folded into its story. */
export async function traceRollout(cloud: NatsConnection, rolloutId: string): Promise<RolloutLineage | undefined> {
  const events = await eventsOf(cloud, { stream: "ROLLOUTS", domain: CLOUD_DOMAIN, subject: subjects.rollout(rolloutId) });
  if (events.length === 0) return undefined;
  const rollout: RolloutLineage = { rolloutId, stages: [], outcome: { status: "requested" } };
  const stage = (index: number, name: string, edges: string[]) => {
    let s = rollout.stages.find((x) => x.index === index);
    if (!s) {
      s = { index, name, edges };
      rollout.stages.push(s);
    }
    return s;
  };
  for (const { event } of events) {
    const at = event.metadata.time;
    switch (event.type) {
      case "tide.rollout.requested.v1":
        Object.assign(rollout, { version: event.data.version, requestedBy: event.data.requestedBy, requestedAt: at, strategy: event.data.strategy });
        break;
      case "tide.rollout.rejected.v1":
        rollout.outcome = { status: "rejected", at, reason: event.data.reason };
        break;
      case "tide.rollout.planned.v1":
        Object.assign(rollout, { version: event.data.version, strategy: event.data.strategy, ...(event.data.previousVersion ? { previousVersion: event.data.previousVersion } : {}) });
        event.data.stages.forEach((s, i) => stage(i, s.name, s.edges));
        rollout.outcome = { status: "planned", at };
        break;
      case "tide.rollout.stage.started.v1":
        stage(event.data.stage, event.data.name, event.data.edges).startedAt = at;
        break;
      case "tide.rollout.stage.completed.v1": {
        const s = stage(event.data.stage, event.data.name, event.data.verdicts.map((v) => v.edge));
        s.completedAt = at;
        s.verdicts = event.data.verdicts.map(({ edge, passed, reason }) => ({ edge, passed, reason }));
        break;
      }
      case "tide.rollout.completed.v1":
        rollout.outcome = { status: "completed", at };
        break;
      case "tide.rollout.rolled_back.v1":
        rollout.outcome = { status: "rolled_back", at, reason: event.data.reason, ...(event.data.toVersion ? { toVersion: event.data.toVersion } : {}) };
        break;
      default:
        break;
    }
  }
  rollout.stages.sort((a, b) => a.index - b.index);
  return rollout;
}
