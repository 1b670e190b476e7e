import { forgedOrigin } from "../../src/store/source-origin.ts";
import type { Projection } from "../engine/projection.ts";

/**
 * The model registry: every candidate version with its gate verdict and
 * metrics, its lineage (parent version, training run, data range, dataset
 * hash), its artifact, and which version each edge runs. The production
 * model is the newest published version (`model_production`).
 */
export const modelsProjection: Projection = {
  name: "models",
  version: 3,
  description: "model registry: versions, lineage, metrics, artifacts, edge activations",
  places: ["cloud"],
  // Edges' reports arrive through their REPORTS streams: one that claims another edge is skipped (src/store/source-origin.ts).
  source: () => ({ stream: "MODELS", refuse: forgedOrigin }),
  tables: ["models", "model_edges"],
  schema: `
    CREATE TABLE IF NOT EXISTS models (
      version TEXT PRIMARY KEY,
      run_id TEXT NOT NULL,
      -- rejected (failed the gate), published
      status TEXT NOT NULL,
      forced INTEGER NOT NULL DEFAULT 0,
      reason TEXT,
      candidate_mae REAL,
      persistence_mae REAL,
      production_version TEXT,
      production_mae REAL,
      test_samples INTEGER,
      parent_version TEXT,
      from_seq INTEGER,
      to_seq INTEGER,
      dataset_hash TEXT,
      metrics TEXT,
      bucket TEXT,
      artifact TEXT,
      quantization TEXT,
      sha256 TEXT,
      size INTEGER,
      evaluated_at TEXT,
      published_at TEXT,
      published_seq INTEGER
    );
    CREATE TABLE IF NOT EXISTS model_edges (
      edge TEXT PRIMARY KEY,
      version TEXT NOT NULL,
      previous_version TEXT,
      rollout_id TEXT,
      -- active; failed: the last activation attempt failed (reason names the version), version is still what runs
      status TEXT NOT NULL,
      reason TEXT,
      at TEXT NOT NULL
    );
    CREATE VIEW IF NOT EXISTS model_production AS
      SELECT * FROM models WHERE status = 'published' ORDER BY published_seq DESC LIMIT 1;`,
  handlers(db) {
    const evaluated = db.prepare(`
      INSERT INTO models (version, run_id, status, forced, reason, candidate_mae, persistence_mae, production_version, production_mae, test_samples, from_seq, to_seq, dataset_hash, evaluated_at)
      VALUES (@version, @runId, 'rejected', @forced, @reason, @candidateMae, @persistenceMae, @productionVersion, @productionMae, @testSamples, @fromSeq, @toSeq, @datasetHash, @at)
      ON CONFLICT(version) DO UPDATE SET run_id = excluded.run_id, forced = excluded.forced, reason = excluded.reason, candidate_mae = excluded.candidate_mae,
        persistence_mae = excluded.persistence_mae, production_version = excluded.production_version, production_mae = excluded.production_mae,
        test_samples = excluded.test_samples, from_seq = COALESCE(excluded.from_seq, from_seq), to_seq = COALESCE(excluded.to_seq, to_seq),
        dataset_hash = COALESCE(excluded.dataset_hash, dataset_hash), evaluated_at = excluded.evaluated_at`);
    // A publication without an evaluation (imported models) still gets its row.
    const published = db.prepare(`
      INSERT INTO models (version, run_id, status, parent_version, from_seq, to_seq, dataset_hash, metrics, bucket, artifact, quantization, sha256, size, published_at, published_seq)
      VALUES (@version, @runId, 'published', @parentVersion, @fromSeq, @toSeq, @datasetHash, @metrics, @bucket, @artifact, @quantization, @sha256, @size, @at, @seq)
      ON CONFLICT(version) DO UPDATE SET status = 'published', run_id = excluded.run_id, parent_version = excluded.parent_version, from_seq = excluded.from_seq,
        to_seq = excluded.to_seq, dataset_hash = excluded.dataset_hash, metrics = excluded.metrics, bucket = excluded.bucket, artifact = excluded.artifact,
        quantization = excluded.quantization, sha256 = excluded.sha256, size = excluded.size, published_at = excluded.published_at, published_seq = excluded.published_seq`);
    const edge = db.prepare(`
      INSERT INTO model_edges (edge, version, previous_version, rollout_id, status, reason, at) VALUES (@edge, @version, @previousVersion, @rolloutId, @status, @reason, @at)
      ON CONFLICT(edge) DO UPDATE SET version = excluded.version, previous_version = excluded.previous_version, rollout_id = excluded.rollout_id,
        status = excluded.status, reason = excluded.reason, at = excluded.at`);
    const failed = db.prepare(`UPDATE model_edges SET status = 'failed', reason = @reason, rollout_id = @rolloutId, at = @at WHERE edge = @edge`);
    return {
      "tide.model.evaluated.v1": ({ event }) => {
        const d = event.data;
        evaluated.run({
          version: d.version,
          runId: d.runId,
          forced: d.forced ? 1 : 0,
          reason: d.reason ?? null,
          candidateMae: d.candidate.mae,
          persistenceMae: d.persistence.mae,
          productionVersion: d.production?.version ?? null,
          productionMae: d.production?.mae ?? null,
          testSamples: d.testSamples,
          fromSeq: d.dataRange?.fromSeq ?? null,
          toSeq: d.dataRange?.toSeq ?? null,
          datasetHash: d.datasetHash ?? null,
          at: event.metadata.time,
        });
      },
      "tide.model.published.v1": ({ seq, event }) => {
        const d = event.data;
        published.run({
          version: d.version,
          runId: d.runId,
          parentVersion: d.parentVersion ?? null,
          fromSeq: d.dataRange.fromSeq,
          toSeq: d.dataRange.toSeq,
          datasetHash: d.datasetHash,
          metrics: JSON.stringify(d.metrics),
          bucket: d.artifact.bucket,
          artifact: d.artifact.name,
          quantization: d.artifact.quantization,
          sha256: d.artifact.digest.sha256,
          size: d.artifact.digest.size,
          at: event.metadata.time,
          seq,
        });
      },
      "tide.model.activated.v1": ({ event }) => {
        const d = event.data;
        edge.run({ edge: d.edge, version: d.version, previousVersion: d.previousVersion ?? null, rolloutId: d.rolloutId ?? null, status: "active", reason: null, at: event.metadata.time });
      },
      "tide.model.activation_failed.v1": ({ event }) => {
        const d = event.data;
        // The edge still runs what it ran: a failed activation changes nothing there.
        const reason = `${d.version} failed: ${d.reason}`;
        const changed = failed.run({ edge: d.edge, reason, rolloutId: d.rolloutId ?? null, at: event.metadata.time }).changes;
        if (changed === 0) edge.run({ edge: d.edge, version: "baseline", previousVersion: null, rolloutId: d.rolloutId ?? null, status: "failed", reason, at: event.metadata.time });
      },
    };
  },
};
