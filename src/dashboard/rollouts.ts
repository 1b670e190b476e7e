import type Database from "better-sqlite3";
import { recentRollouts, rolloutDetail } from "../../projections/rollouts/queries.ts";

/** One rollout and its steps, oldest step first, as the dashboard's timeline draws it. */
export interface RolloutView {
  rolloutId: string;
  version: string;
  strategy: string | null;
  status: string;
  steps: { at: string; what: string; edge?: string | null }[];
}

/**
 * The newest rollouts from the rollouts projection, each with its timeline:
 * requested, every stage started and passed, what each edge reported, and the
 * end (completed, rolled back, rejected) with its reason.
 */
export function rolloutTimeline(db: Database.Database, limit = 3): RolloutView[] {
  return recentRollouts(db, limit).flatMap((r) => {
    const detail = rolloutDetail(db, r.rollout_id);
    if (!detail) return [];
    const steps: RolloutView["steps"] = [];
    if (r.requested_at) steps.push({ at: r.requested_at, what: `requested by ${r.requested_by ?? r.trigger ?? "?"} (${r.strategy ?? "?"})` });
    for (const s of detail.stages) {
      if (s.started_at) steps.push({ at: s.started_at, what: `stage ${s.name} started: edge(s) ${s.edges.join(", ")}` });
      if (s.completed_at) steps.push({ at: s.completed_at, what: `stage ${s.name} passed` });
    }
    for (const e of detail.edges) steps.push({ at: e.at, what: `${e.status}${e.version ? ` ${e.version}` : ""}${e.reason ? `: ${e.reason}` : ""}`, edge: e.edge });
    if (r.ended_at) steps.push({ at: r.ended_at, what: `${r.status}${r.reason ? `: ${r.reason}` : ""}` });
    steps.sort((a, b) => a.at.localeCompare(b.at));
    return [{ rolloutId: r.rollout_id, version: r.version, strategy: r.strategy, status: r.status, steps }];
  });
}
