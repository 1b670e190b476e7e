import type { EventData } from "../events/catalogue.ts";
import { judge } from "./criteria.ts";
import { planRollout } from "./plan.ts";
import { isActive, type Decision, type EdgeVerdict, type Rollout, type RolloutConfig, type RolloutState } from "./types.ts";

/** The rollout id the auto policy gives a version: one per version, so replicas cannot both request it. */
export const autoRolloutId = (version: string) => `auto-${version}`;

/** A `rolled_back` of `r`, appended expecting its last seq: automatic (the criteria) or manual (`decideRollback`). */
export function rolledBack(
  r: Rollout,
  reason: string,
  extra: { trigger?: "automatic" | "manual"; stage?: number; verdicts?: EdgeVerdict[]; requestedBy?: string } = {},
): Decision & { event: { type: "tide.rollout.rolled_back.v1"; data: EventData<"tide.rollout.rolled_back.v1"> } } {
  const { trigger = "automatic", ...rest } = extra;
  return {
    rolloutId: r.rolloutId,
    expectedSeq: r.lastSeq,
    event: {
      type: "tide.rollout.rolled_back.v1",
      data: {
        rolloutId: r.rolloutId,
        version: r.version,
        ...(r.plan?.previousVersion ? { toVersion: r.plan.previousVersion } : {}),
        reason,
        trigger,
        ...rest,
      },
    },
  };
}
const rollBack = (r: Rollout, reason: string, extra: { stage: number; verdicts: EdgeVerdict[] }): Decision => rolledBack(r, reason, extra);

/** The decision a running stage calls for now, if any. */
function decideStage(r: Rollout, now: number): Decision | undefined {
  const plan = r.plan!;
  const stage = plan.stages[r.stage]!;
  if (r.stagesCompleted.has(r.stage)) {
    const next = r.stage + 1;
    if (next < plan.stages.length) {
      const { name, edges } = plan.stages[next]!;
      return { rolloutId: r.rolloutId, expectedSeq: r.lastSeq, event: { type: "tide.rollout.stage.started.v1", data: { rolloutId: r.rolloutId, version: r.version, stage: next, name, edges } } };
    }
    return { rolloutId: r.rolloutId, expectedSeq: r.lastSeq, event: { type: "tide.rollout.completed.v1", data: { rolloutId: r.rolloutId, version: r.version } } };
  }
  const verdicts: EdgeVerdict[] = [];
  const waiting: string[] = [];
  for (const edge of stage.edges) {
    const progress = r.edges.get(edge);
    if (progress?.failed) {
      return rollBack(r, `activation failed on edge ${edge}: ${progress.failed.reason}`, { stage: r.stage, verdicts: [{ edge, passed: false, reason: progress.failed.reason }] });
    }
    if (progress?.observed) verdicts.push(judge(edge, progress.observed, plan.criteria, r.stage === 0 && plan.strategy === "canary"));
    else waiting.push(`${edge} ${progress?.activated ? "activated, observing" : "not activated"}`);
  }
  const failed = verdicts.filter((v) => !v.passed);
  if (failed.length > 0) {
    return rollBack(r, `stage ${stage.name} regressed on ${failed.map((v) => `${v.edge} (${v.reason})`).join("; ")}`, { stage: r.stage, verdicts });
  }
  if (waiting.length === 0) {
    return { rolloutId: r.rolloutId, expectedSeq: r.lastSeq, event: { type: "tide.rollout.stage.completed.v1", data: { rolloutId: r.rolloutId, stage: r.stage, name: stage.name, verdicts } } };
  }
  const elapsed = now - (r.stageStartedAt ?? now);
  if (elapsed > plan.criteria.stageTimeoutMs) {
    return rollBack(r, `stage ${stage.name} timed out after ${Math.round(elapsed / 1000)} s: ${waiting.join(", ")}`, { stage: r.stage, verdicts });
  }
  return undefined;
}

/**
 * The rollout controller's decider: from the folded streams and the time, the
 * events to append next (at most one per rollout; the next round sees it).
 * Requests are served one rollout at a time, in request order: a request
 * waits while another rollout is planned or running, and a round plans at
 * most one, the oldest request still waiting. Never a younger one in the
 * same round as an older one's rejection: appends are checked per rollout
 * only, so if that rejection lost its race (another replica planned the older
 * request), the younger plan would still be stored and two would run.
 */
export function decide(state: RolloutState, now: number, config: RolloutConfig): Decision[] {
  const decisions: Decision[] = [];
  let busy = false;
  for (const id of state.order) {
    const r = state.rollouts.get(id)!;
    if (isActive(r)) {
      busy = true;
      if (r.status === "planned") {
        const { name, edges } = r.plan!.stages[0]!;
        decisions.push({ rolloutId: id, expectedSeq: r.lastSeq, event: { type: "tide.rollout.stage.started.v1", data: { rolloutId: id, version: r.version, stage: 0, name, edges } } });
      } else {
        const decision = decideStage(r, now);
        if (decision) decisions.push(decision);
      }
    }
  }
  let olderWaiting = false;
  for (const id of state.order) {
    const r = state.rollouts.get(id)!;
    if (r.status !== "requested" || !r.request) continue;
    const planned = planRollout(state, r, config);
    if (!planned.success) {
      decisions.push({ rolloutId: id, expectedSeq: r.lastSeq, event: { type: "tide.rollout.rejected.v1", data: { rolloutId: id, version: r.version, reason: planned.reason } } });
    } else if (!busy && !olderWaiting) {
      busy = true;
      decisions.push({ rolloutId: id, expectedSeq: r.lastSeq, event: { type: "tide.rollout.planned.v1", data: planned.plan } });
    }
    olderWaiting = true;
  }
  const newest = state.newest;
  if (config.auto !== "off" && newest && !busy && ![...state.rollouts.values()].some((r) => r.version === newest.version || r.status === "requested")) {
    const rolloutId = autoRolloutId(newest.version);
    decisions.push({
      rolloutId,
      expectedSeq: 0,
      event: { type: "tide.rollout.requested.v1", data: { rolloutId, version: newest.version, strategy: config.auto, requestedBy: "auto-rollout policy" } },
    });
  }
  return decisions;
}
