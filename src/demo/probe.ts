import type Database from "better-sqlite3";
import type { JetStreamManager } from "nats";
import type { Fleet } from "../fleet.ts";
import { decodeEvent, readingRecorded, subjects } from "../events/index.ts";
import { edgeDomain } from "../ids.ts";
import { isNoMessage } from "../store/api-errors.ts";
import { edgeReadings } from "../../streams/edge/readings.ts";
import { hasTable, productionModel } from "../../projections/models/queries.ts";
import { recentRuns } from "../../projections/training-runs/queries.ts";
import { taskDelays, utilisation } from "../../projections/tasks/queries.ts";
import type { DemoStatus, EdgeStatus, RolloutStatus } from "./status.ts";

type Row = Record<string, string | number | null>;

/** The newest rollout, with its plan and what each edge reported (the rollouts and rollout_reports projections). */
function newestRollout(db: Database.Database): RolloutStatus | undefined {
  if (!hasTable(db, "rollouts")) return undefined;
  const r = db.prepare("SELECT * FROM rollouts ORDER BY seq DESC LIMIT 1").get() as Row | undefined;
  if (!r) return undefined;
  const rolloutId = String(r.rollout_id);
  const stage = r.stage_name ? `${r.stage_name}${r.stage_count ? ` (${Number(r.stage ?? 0) + 1}/${r.stage_count})` : ""}` : null;
  const stages = hasTable(db, "rollout_stages")
    ? (db.prepare("SELECT name, edges, started_at, completed_at FROM rollout_stages WHERE rollout_id = ? ORDER BY stage").all(rolloutId) as Row[]).map((s) => ({
        name: String(s.name),
        edges: JSON.parse(String(s.edges)) as string[],
        startedAt: (s.started_at as string | null) ?? null,
        completedAt: (s.completed_at as string | null) ?? null,
      }))
    : [];
  const edges = hasTable(db, "rollout_edges")
    ? (db.prepare("SELECT edge, status, version, activated_at FROM rollout_edges WHERE rollout_id = ? ORDER BY edge").all(rolloutId) as Row[]).map((e) => ({
        edge: String(e.edge),
        status: String(e.status),
        version: (e.version as string | null) ?? null,
        activatedAt: (e.activated_at as string | null) ?? null,
      }))
    : [];
  return { rolloutId, version: String(r.version), status: String(r.status), stage, reason: (r.reason as string | null) ?? null, stages, edges };
}

const count = (db: Database.Database, table: string, sql: string): number => (hasTable(db, table) ? Number((db.prepare(sql).get() as { n: number | null }).n ?? 0) : 0);

/** Readings the cloud READINGS holds from the edges (the `devices` projection). */
export const readingsInCloud = (db: Database.Database): number => count(db, "devices", "SELECT SUM(readings) AS n FROM devices");

/** The timestamp of the newest reading the edges' READINGS streams hold (undefined when they hold none). */
export async function newestReadingMs(fleet: Fleet): Promise<number | undefined> {
  const newest = await Promise.all(
    [...fleet.edges].map(async ([edge, runtime]) => {
      const jsm = await runtime.nc.jetstreamManager({ domain: edgeDomain(edge), timeout: 5000 });
      try {
        const msg = await jsm.streams.getMessage(edgeReadings.name, { last_by_subj: subjects.reading(edge, "*", "*") });
        const decoded = decodeEvent(msg.header, msg.data);
        return decoded.success && decoded.event.type === readingRecorded.type ? Date.parse(decoded.event.data.ts) : undefined;
      } catch (error) {
        if (isNoMessage(error)) return undefined;
        throw error;
      }
    }),
  );
  const known = newest.filter((ms): ms is number => ms !== undefined && Number.isFinite(ms));
  return known.length > 0 ? Math.max(...known) : undefined;
}

/**
 * Samples the fleet: the edges' runtimes in this process, their DLQ streams
 * (which keep every run's dead letters, unlike the ingest's counter), and the
 * cloud projections. Readings/s comes from the difference to the previous sample.
 */
export function createStatusProbe(fleet: Fleet, startedAt = Date.now()) {
  let previous: { at: number; stored: Map<string, number> } | undefined;
  const managers = new Map<string, Promise<JetStreamManager>>();
  const dlqMessages = async (edge: string): Promise<number | undefined> => {
    const runtime = fleet.edges.get(edge)!;
    let jsm = managers.get(edge);
    if (!jsm) managers.set(edge, (jsm = runtime.nc.jetstreamManager({ domain: edgeDomain(edge), timeout: 2000 })));
    try {
      return (await (await jsm).streams.info("DLQ")).state.messages;
    } catch {
      managers.delete(edge);
      return undefined;
    }
  };

  return async function probe(): Promise<DemoStatus> {
    const dlq = new Map(await Promise.all([...fleet.edges.keys()].map(async (edge) => [edge, await dlqMessages(edge)] as const)));
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
        dlq: dlq.get(edge),
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
      cloudReadings: readingsInCloud(db),
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
export type StatusProbe = ReturnType<typeof createStatusProbe>;
