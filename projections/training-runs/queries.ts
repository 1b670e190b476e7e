import type Database from "better-sqlite3";
import { hasTable } from "../models/queries.ts";

/** A training run as `tide status` shows it. */
export interface RunRow {
  runId: string;
  reason: string;
  detail: string | null;
  status: "requested" | "running" | "completed" | "failed";
  requestedAt: string;
  fromSeq: number | null;
  toSeq: number | null;
  readings: number | null;
  datasetHash: string | null;
  epochs: number | null;
  epochsDone: number;
  loss: number | null;
  valLoss: number | null;
  version: string | null;
  published: boolean | null;
  failure: string | null;
  stage: string | null;
}

/** The newest runs first. */
export function recentRuns(db: Database.Database, limit = 10): RunRow[] {
  if (!hasTable(db, "training_runs")) return [];
  const rows = db.prepare("SELECT * FROM training_runs ORDER BY requested_seq DESC LIMIT ?").all(limit) as Record<string, string | number | null>[];
  return rows.map((r) => ({
    runId: String(r.run_id),
    reason: String(r.reason),
    detail: r.detail as string | null,
    status: r.status as RunRow["status"],
    requestedAt: String(r.requested_at),
    fromSeq: r.from_seq as number | null,
    toSeq: r.to_seq as number | null,
    readings: r.readings as number | null,
    datasetHash: r.dataset_hash as string | null,
    epochs: r.epochs as number | null,
    epochsDone: Number(r.epochs_done),
    loss: r.loss as number | null,
    valLoss: r.val_loss as number | null,
    version: r.version as string | null,
    published: r.published === null ? null : r.published === 1,
    failure: r.failure as string | null,
    stage: r.stage as string | null,
  }));
}
