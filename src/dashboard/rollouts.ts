import type Database from "better-sqlite3";
import { hasTable } from "../../projections/models/queries.ts";

/** One rollout and its steps, oldest step first, as the dashboard's timeline draws it. */
export interface RolloutView {
  rolloutId: string;
  version: string;
  strategy: string | null;
  status: string;
  steps: { at: string; what: string; edge?: string | null }[];
}

/** The newest rollouts from the rollouts projection; none until it exists. */
export function rolloutTimeline(db: Database.Database, limit = 5): RolloutView[] {
  if (!hasTable(db, "rollouts")) return [];
  const rows = db.prepare("SELECT * FROM rollouts ORDER BY rowid DESC LIMIT ?").all(limit) as Record<string, string | number | null>[];
  return rows.map((r) => ({
    rolloutId: String(r.rollout_id),
    version: String(r.version),
    strategy: (r.strategy as string | null) ?? null,
    status: String(r.status),
    steps: [],
  }));
}
