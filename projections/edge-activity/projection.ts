import type { Projection } from "../engine/projection.ts";

/** Heartbeat samples kept per edge: enough for rates over the last minute or so. */
export const ACTIVITY_SAMPLES_PER_EDGE = 30;
/** Decisions kept per edge. */
export const DECISIONS_PER_EDGE = 50;

/**
 * What each edge reports it did (`activity` in its heartbeats, NODES): the
 * running totals of its newest heartbeats (`edge_activity`, rates come from
 * two samples), its uplink as it measures it, and its newest decisions
 * (`edge_decisions`). The cloud's view of edge-local work, for the dashboard.
 */
export const edgeActivityProjection: Projection = {
  name: "edge_activity",
  version: 1,
  description: "edge activity from heartbeats: readings, dead letters, predictions, anomalies, decisions, uplink",
  places: ["cloud"],
  source: () => ({ stream: "NODES" }),
  tables: ["edge_activity", "edge_decisions"],
  schema: `
    CREATE TABLE IF NOT EXISTS edge_activity (
      node TEXT NOT NULL,
      at TEXT NOT NULL,
      readings INTEGER NOT NULL,
      rejected INTEGER NOT NULL,
      predictions INTEGER NOT NULL,
      anomalies INTEGER NOT NULL,
      decisions INTEGER NOT NULL,
      decision_p50_ms REAL,
      decision_p99_ms REAL,
      connected INTEGER,
      backlog INTEGER,
      rtt_ms REAL,
      model_version TEXT,
      PRIMARY KEY (node, at)
    );
    CREATE TABLE IF NOT EXISTS edge_decisions (
      node TEXT NOT NULL,
      device TEXT NOT NULL,
      at TEXT NOT NULL,
      action TEXT NOT NULL,
      basis TEXT NOT NULL,
      model_version TEXT,
      reason TEXT NOT NULL,
      PRIMARY KEY (node, device, at)
    );`,
  handlers(db) {
    const sample = db.prepare(`
      INSERT OR REPLACE INTO edge_activity VALUES (@node, @at, @readings, @rejected, @predictions, @anomalies, @decisions, @p50, @p99, @connected, @backlog, @rttMs, @model)`);
    const trimSamples = db.prepare(`
      DELETE FROM edge_activity WHERE node = @node AND at < (SELECT at FROM edge_activity WHERE node = @node ORDER BY at DESC LIMIT 1 OFFSET ${ACTIVITY_SAMPLES_PER_EDGE - 1})`);
    const decision = db.prepare(`INSERT OR IGNORE INTO edge_decisions VALUES (@node, @device, @at, @action, @basis, @modelVersion, @reason)`);
    const trimDecisions = db.prepare(`
      DELETE FROM edge_decisions WHERE node = @node AND at < (SELECT at FROM edge_decisions WHERE node = @node ORDER BY at DESC LIMIT 1 OFFSET ${DECISIONS_PER_EDGE - 1})`);
    return {
      "tide.node.heartbeat.v1": ({ event }) => {
        const { node, activity: a, modelVersion } = event.data;
        if (!a) return;
        sample.run({
          node,
          at: event.metadata.time,
          readings: a.readings,
          rejected: a.rejected,
          predictions: a.predictions,
          anomalies: a.anomalies,
          decisions: a.decisions,
          p50: a.decisionP50Ms ?? null,
          p99: a.decisionP99Ms ?? null,
          connected: a.uplink ? (a.uplink.connected ? 1 : 0) : null,
          backlog: a.uplink?.backlog ?? null,
          rttMs: a.uplink?.rttMs ?? null,
          model: modelVersion ?? null,
        });
        trimSamples.run({ node });
        for (const d of a.recentDecisions) decision.run({ node, device: d.device, at: d.at, action: d.action, basis: d.basis, modelVersion: d.modelVersion ?? null, reason: d.reason });
        trimDecisions.run({ node });
      },
    };
  },
};
