import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN } from "../ids.ts";
import { hasTable } from "../../projections/models/queries.ts";
import { taskDelays, utilisation } from "../../projections/tasks/queries.ts";
import { readGauge, totalCounter, type Labelled, type Registry } from "./registry.ts";

export interface CloudMetricSources {
  nc: NatsConnection;
  /** The cloud projection database. */
  db: Database.Database;
  /** Window of the utilisation gauges (default 300 s). */
  utilisationWindowMs?: number;
}

type Row = Record<string, string | number | null>;

/** Rows of a query, or none when the projection has not created its table yet. */
function rows(db: Database.Database, table: string, sql: string): Row[] {
  return hasTable(db, table) ? (db.prepare(sql).all() as Row[]) : [];
}

/** The q-quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * The cloud's Prometheus metrics, read from the cloud projections (and the
 * streams' state) at scrape time: readings received per edge, dead letters,
 * what the edges report (uplink lag, decisions, anomalies), tasks by state and
 * their measured T_delay, training progress, the registry, nodes and their
 * U_resource, and rollouts by state once the rollout projection exists.
 * Each metric is read on its own: one that fails (a JetStream round trip
 * timing out) is counted in `tide_metrics_collect_errors_total` and logged,
 * and the scrape keeps every other metric.
 */
export function createCloudMetrics(registry: Registry, sources: CloudMetricSources) {
  const { nc, db, utilisationWindowMs = 300_000 } = sources;
  const byLabel = (list: Row[], label: string, value = "n"): Labelled => list.map((r) => [{ [label]: String(r[label]) }, Number(r[value])] as const);
  const latestActivity = () =>
    rows(db, "edge_activity", "SELECT a.* FROM edge_activity a JOIN (SELECT node, MAX(at) AS at FROM edge_activity GROUP BY node) l ON a.node = l.node AND a.at = l.at");

  totalCounter(registry, { name: "tide_cloud_readings_total", help: "Readings received in the cloud READINGS (routed up), by edge", labelNames: ["edge"] }, () =>
    byLabel(rows(db, "devices", "SELECT edge, SUM(readings) AS n FROM devices GROUP BY edge"), "edge"),
  );
  readGauge(registry, { name: "tide_dlq_messages", help: "Messages in the DLQ stream of this place" }, async () => {
    const jsm = await nc.jetstreamManager({ domain: CLOUD_DOMAIN });
    return [[{}, (await jsm.streams.info("DLQ")).state.messages]] as const;
  });
  readGauge(registry, { name: "tide_stream_messages", help: "Messages stored per cloud stream", labelNames: ["stream"] }, async () => {
    const jsm = await nc.jetstreamManager({ domain: CLOUD_DOMAIN });
    const out: [Record<string, string>, number][] = [];
    for await (const info of jsm.streams.list()) out.push([{ stream: info.config.name }, info.state.messages]);
    return out;
  });
  const perEdge = (name: string, help: string, column: string) =>
    readGauge(registry, { name, help, labelNames: ["node"] }, () => latestActivity().filter((r) => r[column] !== null).map((r) => [{ node: String(r.node) }, Number(r[column])] as const));
  perEdge("tide_edge_reported_uplink_backlog_messages", "Uplink lag each edge reports in its heartbeats (UPLINK messages the cloud does not hold yet)", "backlog");
  perEdge("tide_edge_reported_dead_letters", "Dead letters each edge reports (running total)", "rejected");
  perEdge("tide_edge_reported_decisions", "Decisions each edge reports (running total)", "decisions");
  perEdge("tide_edge_reported_anomalies", "Anomalies each edge reports (running total)", "anomalies");
  readGauge(registry, { name: "tide_tasks", help: "Tasks by state", labelNames: ["state"] }, () => byLabel(rows(db, "tasks", "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status"), "status").map(([l, v]) => [{ state: l.status! }, v] as const));
  readGauge(registry, { name: "tide_task_delay_seconds", help: "Measured T_delay = T_transmit + T_compute + T_queue of the newest 500 completed tasks", labelNames: ["quantile"] }, () => {
    const totals = taskDelays(db, { limit: 500 }).flatMap((t) => (t.actual ? [t.actual.totalMs / 1000] : [])).sort((a, b) => a - b);
    return [0.5, 0.99].flatMap((q) => {
      const v = quantile(totals, q);
      return v === undefined ? [] : [[{ quantile: String(q) }, v] as const];
    });
  });
  readGauge(registry, { name: "tide_training_runs", help: "Training runs by status", labelNames: ["status"] }, () => byLabel(rows(db, "training_runs", "SELECT status, COUNT(*) AS n FROM training_runs GROUP BY status"), "status"));
  // The newest runs, not only running ones: a run often trains between two scrapes, and a failed run shows how far it got.
  readGauge(registry, { name: "tide_training_progress_ratio", help: "Epochs done / epochs of the newest 5 training runs (1 = trained every epoch)", labelNames: ["run"] }, () =>
    rows(db, "training_runs", "SELECT run_id, epochs_done, epochs FROM training_runs WHERE epochs > 0 ORDER BY requested_seq DESC LIMIT 5").map((r) => [{ run: String(r.run_id) }, Number(r.epochs_done) / Number(r.epochs)] as const),
  );
  readGauge(registry, { name: "tide_training_last_loss", help: "Training and validation loss of each run's newest epoch (newest 5 runs)", labelNames: ["run", "split"] }, () =>
    rows(db, "training_runs", "SELECT run_id, loss, val_loss FROM training_runs WHERE loss IS NOT NULL ORDER BY requested_seq DESC LIMIT 5").flatMap((r) => [
      [{ run: String(r.run_id), split: "train" }, Number(r.loss)] as const,
      [{ run: String(r.run_id), split: "validation" }, Number(r.val_loss)] as const,
    ]),
  );
  readGauge(registry, { name: "tide_models", help: "Model versions in the registry by status", labelNames: ["status"] }, () => byLabel(rows(db, "models", "SELECT status, COUNT(*) AS n FROM models GROUP BY status"), "status"));
  readGauge(registry, { name: "tide_model_production_info", help: "The production model version (value 1)", labelNames: ["version"] }, () =>
    rows(db, "models", "SELECT version FROM model_production").map((r) => [{ version: String(r.version) }, 1] as const),
  );
  readGauge(registry, { name: "tide_edge_model_info", help: "The model version each edge reports running (value 1)", labelNames: ["node", "version"] }, () =>
    rows(db, "node_models", "SELECT node, model_version FROM node_models WHERE model_version IS NOT NULL AND (kind IS NULL OR kind = 'edge')").map((r) => [{ node: String(r.node), version: String(r.model_version) }, 1] as const),
  );
  readGauge(registry, { name: "tide_nodes", help: "Nodes by status (alive, lost)", labelNames: ["status"] }, () => byLabel(rows(db, "nodes", "SELECT status, COUNT(*) AS n FROM nodes GROUP BY status"), "status"));
  readGauge(registry, { name: "tide_node_utilisation_ratio", help: "U_resource = T_used / T_total per node over the window", labelNames: ["node", "resource"] }, () =>
    utilisation(db, { windowMs: utilisationWindowMs }).flatMap((n) => [
      ...(n.cpu === undefined ? [] : [[{ node: n.node, resource: "cpu" }, n.cpu] as const]),
      ...(n.memory === undefined ? [] : [[{ node: n.node, resource: "memory" }, n.memory] as const]),
    ]),
  );
  readGauge(registry, { name: "tide_rollouts", help: "Rollouts by state (from the rollouts projection, when present)", labelNames: ["state"] }, () =>
    byLabel(rows(db, "rollouts", "SELECT status AS state, COUNT(*) AS n FROM rollouts GROUP BY status"), "state"),
  );
  return { registry };
}
