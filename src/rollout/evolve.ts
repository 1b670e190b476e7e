import { isNodeEvent } from "../nodes/liveness.ts";
import { evolveLiveness } from "./liveness.ts";
import type { EdgeProgress, Folded, Rollout, RolloutState } from "./types.ts";

export function initialState(): RolloutState {
  return { rollouts: new Map(), order: [], published: new Map(), edgeVersions: new Map(), reports: new Map(), liveness: new Map(), nodeEdges: new Map() };
}

function rolloutOf(state: RolloutState, rolloutId: string, version: string, at: string): Rollout {
  let rollout = state.rollouts.get(rolloutId);
  if (!rollout) {
    rollout = { rolloutId, lastSeq: 0, status: "requested", version, stage: -1, stagesCompleted: new Set(), edges: reportsOf(state, rolloutId), requestedAt: at };
    state.rollouts.set(rolloutId, rollout);
    state.order.push(rolloutId);
  }
  return rollout;
}

/** Edges' reports on a rollout: kept by id, as MODELS and ROLLOUTS are read independently and a report may be read first. */
function reportsOf(state: RolloutState, rolloutId: string): Map<string, EdgeProgress> {
  let reports = state.reports.get(rolloutId);
  if (!reports) state.reports.set(rolloutId, (reports = new Map()));
  return reports;
}

function progressOf(state: RolloutState, rolloutId: string, edge: string): EdgeProgress {
  const reports = reportsOf(state, rolloutId);
  let progress = reports.get(edge);
  if (!progress) reports.set(edge, (progress = {}));
  return progress;
}

/**
 * Folds one ROLLOUTS, MODELS or NODES event into the state (in place: the
 * state is the controller's own and rebuilt from the streams on every start).
 * Events of other types are ignored.
 */
export function evolve(state: RolloutState, folded: Folded): RolloutState {
  const { event, seq, storedAt } = folded;
  if (folded.stream === "NODES") return isNodeEvent(event) ? evolveLiveness(state, event) : state;
  const at = event.metadata.time;
  if (folded.stream === "ROLLOUTS" && "rolloutId" in event.data) {
    // Any event on the rollout's subject moves what the next decision must expect.
    const track = (r: Rollout) => (r.lastSeq = Math.max(r.lastSeq, seq));
    switch (event.type) {
      case "tide.rollout.requested.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.request = event.data;
        track(r);
        return state;
      }
      case "tide.rollout.rejected.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.status = "rejected";
        r.outcome = { reason: event.data.reason, at };
        track(r);
        return state;
      }
      case "tide.rollout.planned.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.plan = event.data;
        r.plannedAt = at;
        if (r.status === "requested") r.status = "planned";
        track(r);
        return state;
      }
      case "tide.rollout.stage.started.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.stage = event.data.stage;
        r.stageStartedAt = Date.parse(storedAt);
        if (r.status === "planned" || r.status === "requested") r.status = "running";
        track(r);
        return state;
      }
      case "tide.rollout.stage.completed.v1": {
        const r = state.rollouts.get(event.data.rolloutId);
        if (!r) return state;
        r.stagesCompleted.add(event.data.stage);
        track(r);
        return state;
      }
      case "tide.rollout.completed.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.status = "completed";
        r.outcome = { reason: "every stage passed", at };
        track(r);
        return state;
      }
      case "tide.rollout.rolled_back.v1": {
        const r = rolloutOf(state, event.data.rolloutId, event.data.version, at);
        r.status = "rolled_back";
        r.outcome = { reason: event.data.reason, at, ...(event.data.toVersion ? { toVersion: event.data.toVersion } : {}) };
        track(r);
        return state;
      }
      default:
        return state;
    }
  }
  if (folded.stream !== "MODELS") return state;
  switch (event.type) {
    case "tide.model.published.v1": {
      const { version, artifact, signature } = event.data;
      const published = {
        version,
        seq,
        artifact: { bucket: artifact.bucket, name: artifact.name, sha256: artifact.digest.sha256, size: artifact.digest.size, ...(signature ? { signature } : {}) },
      };
      state.published.set(version, published);
      if (!state.newest || seq > state.newest.seq) state.newest = published;
      return state;
    }
    case "tide.model.activated.v1": {
      const d = event.data;
      state.edgeVersions.set(d.edge, d.version);
      // A rollout's own activation (not the revert after its rollback, which carries the same id).
      if (d.rolloutId && d.cause !== "rollback") {
        progressOf(state, d.rolloutId, d.edge).activated = { version: d.version, ...(d.previousVersion ? { previousVersion: d.previousVersion } : {}), at };
      }
      return state;
    }
    case "tide.model.activation_failed.v1": {
      if (event.data.rolloutId) progressOf(state, event.data.rolloutId, event.data.edge).failed = { reason: event.data.reason, at };
      return state;
    }
    case "tide.model.observed.v1": {
      progressOf(state, event.data.rolloutId, event.data.edge).observed = event.data;
      return state;
    }
    default:
      return state;
  }
}
