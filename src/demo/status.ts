import type { RunRow } from "../../projections/training-runs/queries.ts";

/** One edge in the live status (read from its runtime in this process, and its streams). */
export interface EdgeStatus {
  edge: string;
  readingsPerSecond: number;
  /** Readings the edge's ingest stored in this run. */
  stored: number;
  /** Payloads the edge's ingest dead-lettered in this run. */
  rejected: number;
  /** Messages the edge's DLQ stream holds (every run; undefined when the stream could not be read). */
  dlq: number | undefined;
  connected: boolean | undefined;
  uplinkLag: number | undefined;
  model: string;
  inferences: number;
  decisions: number;
  anomalies: number;
}

/** One stage of a rollout's plan. */
export interface RolloutStageStatus {
  name: string;
  edges: string[];
  startedAt: string | null;
  completedAt: string | null;
}

/** What one edge reported about a rollout (activated, failed, observed, reverted). */
export interface RolloutEdgeStatus {
  edge: string;
  status: string;
  version: string | null;
  activatedAt: string | null;
}

/** The newest rollout, as the rollouts projections have it. */
export interface RolloutStatus {
  rolloutId: string;
  version: string;
  status: string;
  stage: string | null;
  reason: string | null;
  /** The plan, in order (empty until planned). */
  stages: RolloutStageStatus[];
  edges: RolloutEdgeStatus[];
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
      `  edge ${e.edge}: ${e.readingsPerSecond.toFixed(1).padStart(5)} readings/s  stored ${e.stored}  DLQ ${e.dlq ?? "-"}  uplink ${e.connected === false ? "DOWN" : "up"} lag ${e.uplinkLag ?? "-"}  model ${e.model}  inferences ${e.inferences}  decisions ${e.decisions}  anomalies ${e.anomalies}`,
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
