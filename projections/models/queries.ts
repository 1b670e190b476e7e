import type Database from "better-sqlite3";

/** A registry row as `tide status` and `GET /models` show it. */
export interface ModelRow {
  version: string;
  status: "published" | "rejected";
  runId: string;
  parentVersion: string | null;
  forced: boolean;
  candidateMae: number | null;
  persistenceMae: number | null;
  productionVersion: string | null;
  productionMae: number | null;
  dataRange: { fromSeq: number; toSeq: number } | null;
  datasetHash: string | null;
  metrics: Record<string, number>;
  artifact: { bucket: string; name: string; quantization: string; sha256: string; size: number } | null;
  reason: string | null;
  evaluatedAt: string | null;
  publishedAt: string | null;
}

/** Which model an edge runs: from its heartbeats (`node_models`) and, once edges report them, activations (`model_edges`). */
export interface EdgeModelRow {
  node: string;
  edge: string | null;
  version: string | null;
  backend: string | null;
  since: string | null;
  lastSeen: string | null;
  /** The last activation event for the edge, when there is one. */
  activation: { version: string; status: string; reason: string | null; at: string } | null;
}

/** Whether the database has this table or view (a projection that never ran has none). */
export function hasTable(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(table) !== undefined;
}

type Raw = Record<string, string | number | null>;

function toModel(r: Raw): ModelRow {
  return {
    version: String(r.version),
    status: r.status === "published" ? "published" : "rejected",
    runId: String(r.run_id),
    parentVersion: (r.parent_version as string | null) ?? null,
    forced: r.forced === 1,
    candidateMae: r.candidate_mae as number | null,
    persistenceMae: r.persistence_mae as number | null,
    productionVersion: r.production_version as string | null,
    productionMae: r.production_mae as number | null,
    dataRange: r.from_seq === null ? null : { fromSeq: Number(r.from_seq), toSeq: Number(r.to_seq) },
    datasetHash: r.dataset_hash as string | null,
    metrics: r.metrics ? (JSON.parse(String(r.metrics)) as Record<string, number>) : {},
    artifact: r.sha256 === null ? null : { bucket: String(r.bucket), name: String(r.artifact), quantization: String(r.quantization), sha256: String(r.sha256), size: Number(r.size) },
    reason: r.reason as string | null,
    evaluatedAt: r.evaluated_at as string | null,
    publishedAt: r.published_at as string | null,
  };
}

/** Versions newest first (by version number, then name). */
export function listModels(db: Database.Database, limit = 50): ModelRow[] {
  if (!hasTable(db, "models")) return [];
  const rows = db.prepare("SELECT * FROM models ORDER BY CAST(SUBSTR(version, 2) AS INTEGER) DESC, version DESC LIMIT ?").all(limit) as Raw[];
  return rows.map(toModel);
}

/** The newest published version: what the cloud engine runs and rollouts start from. */
export function productionModel(db: Database.Database): ModelRow | undefined {
  if (!hasTable(db, "models")) return undefined;
  const row = db.prepare("SELECT * FROM model_production").get() as Raw | undefined;
  return row ? toModel(row) : undefined;
}

/** Every edge node with the version it reports (and its last activation, if any). */
export function edgeModels(db: Database.Database): EdgeModelRow[] {
  if (!hasTable(db, "node_models")) return [];
  const activations = new Map<string, EdgeModelRow["activation"]>();
  if (hasTable(db, "model_edges")) {
    for (const r of db.prepare("SELECT * FROM model_edges").all() as Raw[]) {
      activations.set(String(r.edge), { version: String(r.version), status: String(r.status), reason: r.reason as string | null, at: String(r.at) });
    }
  }
  const rows = db.prepare("SELECT * FROM node_models WHERE kind IS NULL OR kind = 'edge' ORDER BY node").all() as Raw[];
  return rows.map((r) => ({
    node: String(r.node),
    edge: r.edge as string | null,
    version: r.model_version as string | null,
    backend: r.backend as string | null,
    since: r.since as string | null,
    lastSeen: r.last_seen as string | null,
    activation: r.edge === null ? null : (activations.get(String(r.edge)) ?? null),
  }));
}
