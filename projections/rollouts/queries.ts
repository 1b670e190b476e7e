import type Database from "better-sqlite3";
import { hasTable } from "../models/queries.ts";

export interface RolloutRow {
  rollout_id: string;
  version: string;
  previous_version: string | null;
  strategy: string | null;
  status: string;
  stage: number | null;
  stage_name: string | null;
  stage_count: number | null;
  reason: string | null;
  trigger: string | null;
  requested_by: string | null;
  requested_at: string | null;
  ended_at: string | null;
  updated_at: string;
}

export interface RolloutStageRow {
  stage: number;
  name: string;
  edges: string[];
  started_at: string | null;
  completed_at: string | null;
  verdicts: unknown[] | null;
}

export interface RolloutEdgeRow {
  edge: string;
  status: string;
  version: string | null;
  previous_version: string | null;
  reason: string | null;
  observed: unknown;
  at: string;
}

/** Newest rollouts first. */
export function recentRollouts(db: Database.Database, limit = 20): RolloutRow[] {
  if (!hasTable(db, "rollouts")) return [];
  return db.prepare(`SELECT * FROM rollouts ORDER BY seq DESC LIMIT ?`).all(limit) as RolloutRow[];
}

/** One rollout with its stages and what each edge reported. */
export function rolloutDetail(db: Database.Database, rolloutId: string): (RolloutRow & { stages: RolloutStageRow[]; edges: RolloutEdgeRow[] }) | undefined {
  if (!hasTable(db, "rollouts")) return undefined;
  const row = db.prepare(`SELECT * FROM rollouts WHERE rollout_id = ?`).get(rolloutId) as RolloutRow | undefined;
  if (!row) return undefined;
  const stages = (db.prepare(`SELECT * FROM rollout_stages WHERE rollout_id = ? ORDER BY stage`).all(rolloutId) as Array<Omit<RolloutStageRow, "edges" | "verdicts"> & { edges: string; verdicts: string | null }>).map(
    (s) => ({ ...s, edges: JSON.parse(s.edges) as string[], verdicts: s.verdicts ? (JSON.parse(s.verdicts) as unknown[]) : null }),
  );
  const edges = hasTable(db, "rollout_edges")
    ? (db.prepare(`SELECT edge, status, version, previous_version, reason, observed, at FROM rollout_edges WHERE rollout_id = ? ORDER BY edge`).all(rolloutId) as Array<Omit<RolloutEdgeRow, "observed"> & { observed: string | null }>).map(
        (e) => ({ ...e, observed: e.observed ? (JSON.parse(e.observed) as unknown) : null }),
      )
    : [];
  return { ...row, stages, edges };
}
