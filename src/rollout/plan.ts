import type { EventData } from "../events/catalogue.ts";
import { lostReason } from "./liveness.ts";
import type { Rollout, RolloutConfig, RolloutState } from "./types.ts";

type Plan = EventData<"tide.rollout.planned.v1">;

/** Why a request cannot be planned, or its plan. */
export type PlanResult = { success: true; plan: Plan } | { success: false; reason: string };

/**
 * Turns a request into stages: `all` is one stage of every target edge;
 * `canary` is the first `canaries` edges, then the rest (one stage). The
 * target edges are the request's, else the fleet's, in the fleet's order,
 * less those NODES says are lost: a permanently dead edge would otherwise time
 * out every stage it is in and roll back every fleet-wide rollout. They are
 * named in the plan's `skipped`. Only a `node.lost` counts: an edge that is
 * merely quiet, or goes away mid-rollout, is left to the stage timeout.
 */
export function planRollout(state: RolloutState, rollout: Rollout, config: RolloutConfig): PlanResult {
  const request = rollout.request;
  if (!request) return { success: false, reason: "no request" };
  const published = state.published.get(request.version);
  if (!published) return { success: false, reason: `model version ${request.version} is not published` };
  const fleet = new Set(config.edges);
  const unknown = (request.edges ?? []).filter((e) => !fleet.has(e));
  if (unknown.length > 0) return { success: false, reason: `unknown edge(s): ${unknown.join(", ")}; the fleet is ${config.edges.join(", ") || "empty"}` };
  const wanted = request.edges ? config.edges.filter((e) => request.edges!.includes(e)) : [...config.edges];
  if (wanted.length === 0) return { success: false, reason: "the fleet has no edges to roll out to" };
  const skipped = wanted.flatMap((edge) => {
    const reason = lostReason(state, edge);
    return reason ? [{ edge, reason }] : [];
  });
  const targets = wanted.filter((e) => !skipped.some((s) => s.edge === e));
  if (targets.length === 0) return { success: false, reason: `every target edge is lost: ${skipped.map((s) => `${s.edge} (${s.reason})`).join("; ")}` };

  const canaries = Math.min(request.canaries ?? config.canaries, targets.length);
  const stages =
    request.strategy === "canary" && targets.length > canaries
      ? [
          { name: "canary", edges: targets.slice(0, canaries) },
          { name: "rest", edges: targets.slice(canaries) },
        ]
      : [{ name: request.strategy === "canary" ? "canary" : "all", edges: targets }];
  const previousVersion = lastCompletedVersion(state, rollout.rolloutId, request.version);
  return {
    success: true,
    plan: {
      rolloutId: rollout.rolloutId,
      version: request.version,
      ...(previousVersion ? { previousVersion } : {}),
      strategy: request.strategy,
      stages,
      criteria: { ...config.criteria, ...request.criteria },
      artifact: published.artifact,
      ...(skipped.length ? { skipped } : {}),
    },
  };
}

/** The version of the newest completed rollout other than `except` and of another version than `version`: what the fleet ran before. */
export function lastCompletedVersion(state: RolloutState, except: string, version: string): string | undefined {
  for (let i = state.order.length - 1; i >= 0; i--) {
    const r = state.rollouts.get(state.order[i]!);
    if (r && r.rolloutId !== except && r.status === "completed" && r.version !== version) return r.version;
  }
  return undefined;
}
