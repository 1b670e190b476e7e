import type { Projection } from "../engine/projection.ts";

/** What each edge reported about each rollout (MODELS, sourced from the edges' REPORTS). */
export const rolloutReportsProjection: Projection = {
  name: "rollout_reports",
  version: 1,
  description: "per rollout and edge: activation, failure, observation, revert",
  places: ["cloud"],
  source: () => ({ stream: "MODELS", subject: "tide.report.>" }),
  tables: ["rollout_edges"],
  schema: `
    CREATE TABLE IF NOT EXISTS rollout_edges (
      rollout_id TEXT NOT NULL,
      edge TEXT NOT NULL,
      -- activated, failed, observed, reverted
      status TEXT NOT NULL,
      version TEXT,
      previous_version TEXT,
      reason TEXT,
      observed TEXT,
      activated_at TEXT,
      at TEXT NOT NULL,
      PRIMARY KEY (rollout_id, edge)
    );`,
  handlers(db) {
    const upsert = db.prepare(`
      INSERT INTO rollout_edges (rollout_id, edge, status, version, previous_version, reason, observed, activated_at, at)
      VALUES (@rolloutId, @edge, @status, @version, @previousVersion, @reason, @observed, @activatedAt, @at)
      ON CONFLICT(rollout_id, edge) DO UPDATE SET status = excluded.status, version = COALESCE(excluded.version, version),
        previous_version = COALESCE(excluded.previous_version, previous_version), reason = COALESCE(excluded.reason, reason),
        observed = COALESCE(excluded.observed, observed), activated_at = COALESCE(excluded.activated_at, activated_at), at = excluded.at`);
    const row = (o: Record<string, unknown>) => ({ version: null, previousVersion: null, reason: null, observed: null, activatedAt: null, ...o });
    return {
      "tide.model.activated.v1": ({ event }) => {
        const d = event.data;
        if (!d.rolloutId || d.cause === "restore") return;
        const at = event.metadata.time;
        if (d.cause === "rollback") upsert.run(row({ rolloutId: d.rolloutId, edge: d.edge, status: "reverted", reason: `returned to ${d.version}`, at }));
        else upsert.run(row({ rolloutId: d.rolloutId, edge: d.edge, status: "activated", version: d.version, previousVersion: d.previousVersion ?? null, activatedAt: at, at }));
      },
      "tide.model.activation_failed.v1": ({ event }) => {
        const d = event.data;
        if (!d.rolloutId) return;
        upsert.run(row({ rolloutId: d.rolloutId, edge: d.edge, status: "failed", version: d.version, reason: d.reason, at: event.metadata.time }));
      },
      "tide.model.observed.v1": ({ event }) => {
        const d = event.data;
        upsert.run(row({ rolloutId: d.rolloutId, edge: d.edge, status: "observed", observed: JSON.stringify({ current: d.current, previous: d.previous, observedMs: d.observedMs }), at: event.metadata.time }));
      },
    };
  },
};
