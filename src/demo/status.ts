import type Database from "better-sqlite3";
import type { Fleet } from "../fleet.ts";
import { hasTable, productionModel } from "../../projections/models/queries.ts";
import { recentRuns, type RunRow } from "../../projections/training-runs/queries.ts";
import { taskDelays, utilisation } from "../../projections/tasks/queries.ts";

/** One edge in the live status (read from its runtime in this process). */
export interface EdgeStatus {
  edge: string;
  readingsPerSecond: number;
  stored: number;
  rejected: number;
  connected: boolean | undefined;
  uplinkLag: number | undefined;
  model: string;
  inferences: number;
  decisions: number;
  anomalies: number;
}

/** The newest rollout, as the rollouts projection has it. */
export interface RolloutStatus {
  rolloutId: string;
  version: string;
  status: string;
  stage: string | null;
  reason: string | null;
}

/** Everything the live status and the summary show. */
export interface DemoStatus {
  elapsedSeconds: number;
  edges: EdgeStatus[];
  /** Readings the cloud READINGS holds from the edges (the `devices` projection). */
  cloudReadings: number;
  training: RunRow | undefined;
  runs: { completed: number; failed: number; published: number };
  production: string | undefined;
  rollout: RolloutStatus | undefined;
  tasks: Record<string, number>;
  delay: { p50Ms: number; p99Ms: number } | undefined;
  utilisation: { node: string; cpu: number | undefined }[];
}

function newestRollout(db: Database.Database): RolloutStatus | undefined {
  if (!hasTable(db, "rollouts")) return undefined;
  const r = db.prepare("SELECT * FROM rollouts ORDER BY seq DESC LIMIT 1").get() as Record<string, string | number | null> | undefined;
  if (!r) return undefined;
  const stage = r.stage_name ? `${r.stage_name}${r.stage_count ? ` (${Number(r.stage ?? 0) + 1}/${r.stage_count})` : ""}` : null;
  return { rolloutId: String(r.rollout_id), version: String(r.version), status: String(r.status), stage, reason: (r.reason as string | null) ?? null };
}

const count = (db: Database.Database, table: string, sql: string): number => (hasTable(db, table) ? Number((db.prepare(sql).get() as { n: number | null }).n ?? 0) : 0);

/** Samples the fleet; readings/s comes from the difference to the previous sample. */
export function createStatusProbe(fleet: Fleet, startedAt = Date.now()) {
  let previous: { at: number; stored: Map<string, number> } | undefined;
  return function probe(): DemoStatus {
    const now = Date.now();
    const db = fleet.cloud.db;
    const stored = new Map([...fleet.edges].map(([id, e]) => [id, e.ingest.stats.accepted]));
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    const edges: EdgeStatus[] = [...fleet.edges].map(([edge, runtime]) => {
      const link = runtime.distribution?.link();
      const before = previous?.stored.get(edge);
      return {
        edge,
        readingsPerSecond: before !== undefined && seconds > 0 ? (stored.get(edge)! - before) / seconds : 0,
        stored: stored.get(edge)!,
        rejected: runtime.ingest.stats.rejected,
        connected: link?.connected,
        uplinkLag: link?.backlog,
        model: runtime.engine.activeVersion(),
        inferences: runtime.pipeline.stats.processed,
        decisions: runtime.pipeline.stats.decisions,
        anomalies: runtime.activity.counts.anomalies,
      };
    });
    previous = { at: now, stored };
    const tasks: Record<string, number> = {};
    if (hasTable(db, "tasks")) for (const r of db.prepare("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status").all() as { status: string; n: number }[]) tasks[r.status] = r.n;
    const totals = taskDelays(db, { limit: 500 }).flatMap((t) => (t.actual ? [t.actual.totalMs] : [])).sort((a, b) => a - b);
    const at = (q: number) => totals[Math.min(totals.length - 1, Math.floor(q * totals.length))]!;
    return {
      elapsedSeconds: Math.round((now - startedAt) / 1000),
      edges,
      cloudReadings: count(db, "devices", "SELECT SUM(readings) AS n FROM devices"),
      training: recentRuns(db, 1)[0],
      runs: {
        completed: count(db, "training_runs", "SELECT COUNT(*) AS n FROM training_runs WHERE status = 'completed'"),
        failed: count(db, "training_runs", "SELECT COUNT(*) AS n FROM training_runs WHERE status = 'failed'"),
        published: count(db, "models", "SELECT COUNT(*) AS n FROM models WHERE status = 'published'"),
      },
      production: productionModel(db)?.version,
      rollout: newestRollout(db),
      tasks,
      delay: totals.length ? { p50Ms: at(0.5), p99Ms: at(0.99) } : undefined,
      utilisation: utilisation(db, { windowMs: 300_000, now }).map((n) => ({ node: n.node, cpu: n.cpu })),
    };
  };
}

const pct = (u: number | undefined) => (u === undefined ? "-" : `${(u * 100).toFixed(0)}%`);
const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`);

function trainingLine(s: DemoStatus): string {
  const r = s.training;
  if (!r) return "waiting for data";
  const progress = r.epochs ? ` epoch ${r.epochsDone}/${r.epochs}${r.loss === null ? "" : ` loss ${r.loss.toPrecision(3)}`}` : "";
  const outcome = r.status === "completed" ? ` → ${r.version} ${r.published ? "published" : "rejected by the gate"}` : r.status === "failed" ? ` (${r.stage}: ${r.failure})` : "";
  return `${r.runId} ${r.status}${progress}${outcome}`;
}

/** The live status for people: one line per edge, then the cloud side. */
export function renderStatus(s: DemoStatus, dashboardUrl: string): string[] {
  const edges = s.edges.map(
    (e) =>
      `  edge ${e.edge}: ${e.readingsPerSecond.toFixed(1).padStart(5)} readings/s  stored ${e.stored}  DLQ ${e.rejected}  uplink ${e.connected === false ? "DOWN" : "up"} lag ${e.uplinkLag ?? "-"}  model ${e.model}  inferences ${e.inferences}  decisions ${e.decisions}  anomalies ${e.anomalies}`,
  );
  const rollout = s.rollout ? `${s.rollout.rolloutId} ${s.rollout.version} ${s.rollout.status}${s.rollout.stage ? ` at ${s.rollout.stage}` : ""}` : "none yet";
  const tasks = Object.entries(s.tasks).map(([k, v]) => `${v} ${k}`).join(", ") || "none yet";
  return [
    `Tide demo · ${s.elapsedSeconds}s · dashboard ${dashboardUrl}`,
    ...edges,
    `  cloud: ${s.cloudReadings} readings received · production model ${s.production ?? "none (baseline)"} · rollout ${rollout}`,
    `  training: ${trainingLine(s)}`,
    `  tasks: ${tasks} · T_delay ${s.delay ? `p50 ${ms(s.delay.p50Ms)} p99 ${ms(s.delay.p99Ms)}` : "-"}`,
    `  U_resource (CPU, 5 min): ${s.utilisation.map((n) => `${n.node} ${pct(n.cpu)}`).join("  ") || "-"}`,
  ];
}
