import type { Projection } from "../engine/projection.ts";

/**
 * Rollouts as the controller decided them (ROLLOUTS): one row per rollout
 * with its state and current stage, one per stage with its verdicts.
 */
export const rolloutsProjection: Projection = {
  name: "rollouts",
  version: 1,
  description: "rollouts: requests, plans, stages with per-edge verdicts, outcomes",
  places: ["cloud"],
  source: () => ({ stream: "ROLLOUTS" }),
  tables: ["rollouts", "rollout_stages"],
  schema: `
    CREATE TABLE IF NOT EXISTS rollouts (
      rollout_id TEXT PRIMARY KEY,
      version TEXT NOT NULL,
      previous_version TEXT,
      strategy TEXT,
      -- requested, rejected, planned, running, completed, rolled_back
      status TEXT NOT NULL,
      stage INTEGER,
      stage_name TEXT,
      stage_count INTEGER,
      edges TEXT,
      criteria TEXT,
      requested_by TEXT,
      reason TEXT,
      trigger TEXT,
      requested_at TEXT,
      planned_at TEXT,
      ended_at TEXT,
      updated_at TEXT NOT NULL,
      seq INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS rollout_stages (
      rollout_id TEXT NOT NULL,
      stage INTEGER NOT NULL,
      name TEXT NOT NULL,
      edges TEXT NOT NULL,
      started_at TEXT,
      completed_at TEXT,
      verdicts TEXT,
      PRIMARY KEY (rollout_id, stage)
    );`,
  handlers(db) {
    const upsert = db.prepare(`
      INSERT INTO rollouts (rollout_id, version, status, updated_at, seq) VALUES (@rolloutId, @version, @status, @at, @seq)
      ON CONFLICT(rollout_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, seq = excluded.seq`);
    const requested = db.prepare(`UPDATE rollouts SET strategy = @strategy, requested_by = @requestedBy, requested_at = @at, edges = @edges WHERE rollout_id = @rolloutId`);
    const planned = db.prepare(`
      UPDATE rollouts SET previous_version = @previousVersion, strategy = @strategy, stage_count = @stageCount, edges = @edges, criteria = @criteria, planned_at = @at
      WHERE rollout_id = @rolloutId`);
    const plannedStage = db.prepare(`INSERT OR REPLACE INTO rollout_stages (rollout_id, stage, name, edges) VALUES (@rolloutId, @stage, @name, @edges)`);
    const stageStarted = db.prepare(`UPDATE rollout_stages SET started_at = @at WHERE rollout_id = @rolloutId AND stage = @stage`);
    const current = db.prepare(`UPDATE rollouts SET stage = @stage, stage_name = @name WHERE rollout_id = @rolloutId`);
    const stageCompleted = db.prepare(`UPDATE rollout_stages SET completed_at = @at, verdicts = @verdicts WHERE rollout_id = @rolloutId AND stage = @stage`);
    const ended = db.prepare(`UPDATE rollouts SET reason = @reason, trigger = @trigger, ended_at = @at WHERE rollout_id = @rolloutId`);
    const stageVerdicts = db.prepare(`UPDATE rollout_stages SET verdicts = @verdicts WHERE rollout_id = @rolloutId AND stage = @stage`);
    const set = (rolloutId: string, version: string, status: string, at: string, seq: number) => upsert.run({ rolloutId, version, status, at, seq });
    return {
      "tide.rollout.requested.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "requested", event.metadata.time, seq);
        requested.run({ rolloutId: d.rolloutId, strategy: d.strategy, requestedBy: d.requestedBy, at: event.metadata.time, edges: d.edges ? JSON.stringify(d.edges) : null });
      },
      "tide.rollout.rejected.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "rejected", event.metadata.time, seq);
        ended.run({ rolloutId: d.rolloutId, reason: d.reason, trigger: null, at: event.metadata.time });
      },
      "tide.rollout.planned.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "planned", event.metadata.time, seq);
        planned.run({
          rolloutId: d.rolloutId,
          previousVersion: d.previousVersion ?? null,
          strategy: d.strategy,
          stageCount: d.stages.length,
          edges: JSON.stringify(d.stages.flatMap((s) => s.edges)),
          criteria: JSON.stringify(d.criteria),
          at: event.metadata.time,
        });
        d.stages.forEach((s, stage) => plannedStage.run({ rolloutId: d.rolloutId, stage, name: s.name, edges: JSON.stringify(s.edges) }));
      },
      "tide.rollout.stage.started.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "running", event.metadata.time, seq);
        current.run({ rolloutId: d.rolloutId, stage: d.stage, name: d.name });
        stageStarted.run({ rolloutId: d.rolloutId, stage: d.stage, at: event.metadata.time });
      },
      "tide.rollout.stage.completed.v1": ({ event }) => {
        const d = event.data;
        stageCompleted.run({ rolloutId: d.rolloutId, stage: d.stage, at: event.metadata.time, verdicts: JSON.stringify(d.verdicts) });
      },
      "tide.rollout.completed.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "completed", event.metadata.time, seq);
        ended.run({ rolloutId: d.rolloutId, reason: "every stage passed", trigger: null, at: event.metadata.time });
      },
      "tide.rollout.rolled_back.v1": ({ seq, event }) => {
        const d = event.data;
        set(d.rolloutId, d.version, "rolled_back", event.metadata.time, seq);
        ended.run({ rolloutId: d.rolloutId, reason: d.reason, trigger: d.trigger ?? null, at: event.metadata.time });
        if (d.stage !== undefined && d.verdicts) stageVerdicts.run({ rolloutId: d.rolloutId, stage: d.stage, verdicts: JSON.stringify(d.verdicts) });
      },
    };
  },
};
