import { edgeModels, listModels, productionModel, type ModelRow } from "../../../projections/models/queries.ts";
import { recentRuns, type RunRow } from "../../../projections/training-runs/queries.ts";
import { table, type StatusSection } from "./section.ts";

/** A MAE in °C, or `-`. */
const mae = (value: number | null | undefined): string => (value === null || value === undefined ? "-" : value.toFixed(4));
const cell = (value: string | number | null | undefined): string => (value === null || value === undefined || value === "" ? "-" : String(value));
const indent = (lines: string[]) => lines.map((l) => `  ${l}`);
const seqRange = (from: number | null | undefined, to: number | null | undefined) => (from === null || from === undefined ? "-" : `${from}..${to}`);

function productionLine(production: ModelRow | undefined): string {
  if (!production) return "production: none (the cloud and the edges use the baseline)";
  const testMae = production.candidateMae ?? production.metrics.mae;
  const persistence = production.persistenceMae ?? production.metrics.persistenceMae;
  return `production: ${production.version} (run ${production.runId}, published ${production.publishedAt}, test MAE ${mae(testMae)} °C vs persistence ${mae(persistence)} °C)`;
}

/** The model registry: the production model, then every version with lineage, gate figures and artifact. */
export const modelsSection: StatusSection = {
  name: "models",
  projections: ["models"],
  json: ({ db, limit }) => ({ production: productionModel(db)?.version ?? null, models: listModels(db, limit) }),
  render({ db, limit }) {
    const models = listModels(db, limit);
    const title = `Models (newest ${limit}): lineage, held-out test MAE vs persistence and production, artifact`;
    if (models.length === 0) return [title, "  no models yet (tide train, or POST /train on the cloud API)"];
    const rows = models.map((m) => [
      m.version,
      m.status + (m.forced ? " (forced)" : ""),
      cell(m.parentVersion),
      m.runId,
      seqRange(m.dataRange?.fromSeq, m.dataRange?.toSeq),
      cell(m.datasetHash?.slice(0, 12)),
      mae(m.candidateMae),
      mae(m.persistenceMae),
      m.productionVersion ? `${m.productionVersion} ${mae(m.productionMae)}` : "-",
      m.artifact ? `${m.artifact.size}B ${m.artifact.quantization}` : "-",
      cell(m.artifact?.sha256.slice(0, 12)),
    ]);
    const lines = table(["VERSION", "STATUS", "PARENT", "RUN", "READINGS_SEQ", "DATASET", "MAE_C", "PERSIST", "VS_PRODUCTION", "ARTIFACT", "SHA256"], rows);
    return [title, `  ${productionLine(productionModel(db))}`, ...indent(lines)];
  },
};

/** Which version each edge runs, as its heartbeats report it (and its last activation, once edges report them). */
export const edgeModelsSection: StatusSection = {
  name: "edgeModels",
  projections: ["node_models", "models"],
  json: ({ db }) => ({ edges: edgeModels(db) }),
  render({ db }) {
    const edges = edgeModels(db);
    const title = "Models on the edges (from heartbeats)";
    if (edges.length === 0) return [title, "  no edge has sent a heartbeat yet"];
    const rows = edges.map((e) => [
      e.node,
      cell(e.edge),
      cell(e.version),
      cell(e.backend),
      cell(e.since),
      cell(e.lastSeen),
      e.activation ? `${e.activation.version} ${e.activation.status}${e.activation.reason ? `: ${e.activation.reason}` : ""}` : "-",
    ]);
    return [title, ...indent(table(["NODE", "EDGE", "RUNS", "BACKEND", "SINCE", "LAST_HEARTBEAT", "LAST_ACTIVATION"], rows))];
  },
};

const outcome = (r: RunRow) =>
  r.status === "completed" ? `${r.version} ${r.published ? "published" : "rejected"}` : r.status === "failed" ? `${r.stage ?? "failed"}: ${r.failure}` : "-";

/** The newest training runs: trigger, data range, progress, outcome. */
export const trainingSection: StatusSection = {
  name: "training",
  projections: ["training_runs"],
  json: ({ db, limit }) => ({ runs: recentRuns(db, limit) }),
  render({ db, limit }) {
    const runs = recentRuns(db, limit);
    const title = `Training runs (newest ${limit})`;
    if (runs.length === 0) return [title, "  no training runs yet (tide train, POST /train, the schedule or drift start them)"];
    const rows = runs.map((r) => [
      r.runId,
      r.reason,
      r.status,
      seqRange(r.fromSeq, r.toSeq),
      r.epochs === null ? "-" : `${r.epochsDone}/${r.epochs}`,
      cell(r.loss?.toPrecision(3)),
      cell(r.valLoss?.toPrecision(3)),
      outcome(r),
    ]);
    return [title, ...indent(table(["RUN", "REASON", "STATUS", "READINGS_SEQ", "EPOCHS", "LOSS", "VAL_LOSS", "OUTCOME"], rows))];
  },
};
