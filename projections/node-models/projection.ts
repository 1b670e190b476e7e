import type { Projection } from "../engine/projection.ts";

/**
 * Which model version each node reports running, from its heartbeats (NODES).
 * Edges do not report activations to the cloud yet; their heartbeats carry
 * `modelVersion` (`baseline` before any model), so this is what the cloud
 * knows about who runs what.
 */
export const nodeModelsProjection: Projection = {
  name: "node_models",
  version: 1,
  description: "model version and TF.js backend each node reports in its heartbeats",
  places: ["cloud"],
  source: () => ({ stream: "NODES" }),
  tables: ["node_models"],
  schema: `
    CREATE TABLE IF NOT EXISTS node_models (
      node TEXT PRIMARY KEY,
      kind TEXT,
      edge TEXT,
      model_version TEXT,
      backend TEXT,
      -- when the running version last changed, and the last heartbeat
      since TEXT,
      last_seen TEXT
    );`,
  handlers(db) {
    const registered = db.prepare(`
      INSERT INTO node_models (node, kind, edge, backend) VALUES (@node, @kind, @edge, @backend)
      ON CONFLICT(node) DO UPDATE SET kind = excluded.kind, edge = excluded.edge, backend = COALESCE(excluded.backend, backend)`);
    const heartbeat = db.prepare(`
      INSERT INTO node_models (node, model_version, backend, since, last_seen) VALUES (@node, @version, @backend, @at, @at)
      ON CONFLICT(node) DO UPDATE SET
        since = CASE WHEN model_version IS excluded.model_version THEN since ELSE excluded.since END,
        model_version = excluded.model_version,
        backend = COALESCE(excluded.backend, backend),
        last_seen = excluded.last_seen`);
    return {
      "tide.node.registered.v1": ({ event }) => {
        const d = event.data;
        registered.run({ node: d.node, kind: d.kind, edge: d.edge ?? null, backend: d.backend ?? null });
      },
      "tide.node.heartbeat.v1": ({ event }) => {
        const d = event.data;
        heartbeat.run({ node: d.node, version: d.modelVersion ?? null, backend: d.backend ?? null, at: event.metadata.time });
      },
    };
  },
};
