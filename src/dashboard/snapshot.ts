import type Database from "better-sqlite3";
import { baselinePredict } from "../../edge-runtime/inference/baseline.ts";
import { ANOMALY_SCORE } from "../../edge-runtime/activity.ts";
import { edgeModels, hasTable, listModels, productionModel } from "../../projections/models/queries.ts";
import { recentRuns } from "../../projections/training-runs/queries.ts";
import { taskDelays, utilisation } from "../../projections/tasks/queries.ts";
import type { ReadingPoint } from "../model/features.ts";
import { rolloutTimeline, type RolloutView } from "./rollouts.ts";

type Row = Record<string, string | number | null>;
const all = (db: Database.Database, table: string, sql: string, ...params: unknown[]): Row[] => (hasTable(db, table) ? (db.prepare(sql).all(...params) as Row[]) : []);

/** One edge as the dashboard shows it: link, model, and what its heartbeats report. */
export interface EdgeView {
  node: string;
  edge: string | null;
  status: string;
  lastSeen: string | null;
  connected: boolean | null;
  rttMs: number | null;
  backlog: number | null;
  model: string | null;
  backend: string | null;
  readings: number;
  readingsPerSecond: number | null;
  rejected: number;
  predictions: number;
  anomalies: number;
  decisions: number;
  decisionP50Ms: number | null;
  decisionP99Ms: number | null;
}

/** What the dashboard draws; one JSON document, pushed again whenever it changes. */
export interface DashboardSnapshot {
  at: string;
  cloudReadings: number;
  edges: EdgeView[];
  devices: { edge: string; device: string; points: { seq: number; ts: string; temperature: number; anomaly: boolean }[] }[];
  decisions: { node: string; device: string; at: string; action: string; basis: string; modelVersion: string | null; reason: string }[];
  models: { production: string | null; versions: ReturnType<typeof listModels>; edges: ReturnType<typeof edgeModels> };
  rollouts: RolloutView[];
  training: { runs: ReturnType<typeof recentRuns>; epochs: Record<string, { epoch: number; loss: number; valLoss: number }[]> };
  tasks: (ReturnType<typeof taskDelays>[number] & { candidates: unknown[] })[];
  taskStates: Record<string, number>;
  delay: { completed: number; p50Ms: number | null; p99Ms: number | null; mean: { transmitMs: number; computeMs: number; queueMs: number } | null };
  utilisation: ReturnType<typeof utilisation>;
}

function edgesOf(db: Database.Database): EdgeView[] {
  const nodes = all(db, "nodes", "SELECT * FROM nodes WHERE kind = 'edge' ORDER BY node");
  const models = new Map(edgeModels(db).map((m) => [m.node, m]));
  const samples = (node: string) => all(db, "edge_activity", "SELECT * FROM edge_activity WHERE node = ? ORDER BY at DESC LIMIT 6", node);
  return nodes.map((n) => {
    const [last, ...older] = samples(String(n.node));
    const first = older.at(-1);
    const seconds = last && first ? (Date.parse(String(last.at)) - Date.parse(String(first.at))) / 1000 : 0;
    const num = (r: Row | undefined, k: string) => (r && r[k] !== null ? Number(r[k]) : null);
    return {
      node: String(n.node),
      edge: (n.edge as string | null) ?? null,
      status: String(n.status),
      lastSeen: (n.last_seen as string | null) ?? null,
      connected: last && last.connected !== null ? last.connected === 1 : null,
      rttMs: num(last, "rtt_ms") ?? num(n, "rtt_ms"),
      backlog: num(last, "backlog"),
      model: models.get(String(n.node))?.version ?? null,
      backend: models.get(String(n.node))?.backend ?? null,
      readings: num(last, "readings") ?? 0,
      readingsPerSecond: last && first && seconds > 0 ? Math.round(((Number(last.readings) - Number(first.readings)) / seconds) * 10) / 10 : null,
      rejected: num(last, "rejected") ?? 0,
      predictions: num(last, "predictions") ?? 0,
      anomalies: num(last, "anomalies") ?? 0,
      decisions: num(last, "decisions") ?? 0,
      decisionP50Ms: num(last, "decision_p50_ms"),
      decisionP99Ms: num(last, "decision_p99_ms"),
    };
  });
}

/**
 * The newest readings of each device in the cloud, each marked anomalous when
 * the edges' own baseline scorer (the trend of the readings before it, in units
 * of their robust spread) gives it a score of at least ANOMALY_SCORE.
 */
function devicesOf(db: Database.Database, perDevice: number): DashboardSnapshot["devices"] {
  const rows = all(db, "recent_readings", "SELECT edge, device, seq, ts, temperature, humidity FROM recent_readings ORDER BY edge, device, seq");
  const byDevice = new Map<string, Row[]>();
  for (const r of rows) {
    const key = `${r.edge}\u0000${r.device}`;
    byDevice.set(key, [...(byDevice.get(key) ?? []), r]);
  }
  return [...byDevice.values()].map((list) => {
    const window: ReadingPoint[] = list.map((r) => ({ seq: Number(r.seq), temperature: Number(r.temperature), humidity: Number(r.humidity) }));
    const points = list.map((r, i) => ({
      seq: Number(r.seq),
      ts: String(r.ts),
      temperature: Number(r.temperature),
      anomaly: baselinePredict(window.slice(0, i + 1)).anomalyScore >= ANOMALY_SCORE,
    }));
    return { edge: String(list[0]!.edge), device: String(list[0]!.device), points: points.slice(-perDevice) };
  });
}

function quantile(sorted: number[], q: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Build the dashboard's document from the cloud projections. */
export function dashboardSnapshot(db: Database.Database, options: { now?: number; windowMs?: number; readingsPerDevice?: number } = {}): DashboardSnapshot {
  const now = options.now ?? Date.now();
  const runs = recentRuns(db, 5);
  const epochs: DashboardSnapshot["training"]["epochs"] = {};
  for (const run of runs.slice(0, 3)) {
    epochs[run.runId] = all(db, "training_epochs", "SELECT epoch, loss, val_loss FROM training_epochs WHERE run_id = ? ORDER BY epoch", run.runId).map((r) => ({
      epoch: Number(r.epoch),
      loss: Number(r.loss),
      valLoss: Number(r.val_loss),
    }));
  }
  const placements = new Map(all(db, "task_placements", "SELECT task_id, candidates FROM task_placements").map((r) => [String(r.task_id), JSON.parse(String(r.candidates)) as unknown[]]));
  const tasks = taskDelays(db, { limit: 15 }).map((t) => ({ ...t, candidates: placements.get(t.taskId) ?? [] }));
  const completed = taskDelays(db, { limit: 500 }).flatMap((t) => (t.actual ? [t.actual] : []));
  const totals = completed.map((a) => a.totalMs).sort((a, b) => a - b);
  const mean = (k: "transmitMs" | "computeMs" | "queueMs") => Math.round((completed.reduce((s, a) => s + a[k], 0) / completed.length) * 10) / 10;
  const taskStates: Record<string, number> = {};
  for (const r of all(db, "tasks", "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")) taskStates[String(r.status)] = Number(r.n);
  const cloudReadings = Number(all(db, "devices", "SELECT COALESCE(SUM(readings), 0) AS n FROM devices")[0]?.n ?? 0);
  return {
    at: new Date(now).toISOString(),
    cloudReadings,
    edges: edgesOf(db),
    devices: devicesOf(db, options.readingsPerDevice ?? 60),
    decisions: all(db, "edge_decisions", "SELECT * FROM edge_decisions ORDER BY at DESC LIMIT 15").map((r) => ({
      node: String(r.node),
      device: String(r.device),
      at: String(r.at),
      action: String(r.action),
      basis: String(r.basis),
      modelVersion: (r.model_version as string | null) ?? null,
      reason: String(r.reason),
    })),
    models: { production: productionModel(db)?.version ?? null, versions: listModels(db, 8), edges: edgeModels(db) },
    rollouts: rolloutTimeline(db),
    training: { runs, epochs },
    tasks,
    taskStates,
    delay: { completed: completed.length, p50Ms: quantile(totals, 0.5), p99Ms: quantile(totals, 0.99), mean: completed.length ? { transmitMs: mean("transmitMs"), computeMs: mean("computeMs"), queueMs: mean("queueMs") } : null },
    utilisation: utilisation(db, { windowMs: options.windowMs ?? 300_000, now }),
  };
}
