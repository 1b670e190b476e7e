import type { Projection } from "../engine/projection.ts";

/**
 * Why each task went where it went: every candidate node of its newest
 * placement with its score, estimate and reason (`tasks` keeps the chosen
 * node's estimate only). The dashboard's task board reads it.
 */
export const taskPlacementsProjection: Projection = {
  name: "task_placements",
  version: 1,
  description: "each task's newest placement: every candidate node with score and reason",
  places: ["cloud"],
  source: () => ({ stream: "TASKS" }),
  tables: ["task_placements"],
  schema: `
    CREATE TABLE IF NOT EXISTS task_placements (
      task_id TEXT PRIMARY KEY,
      attempt INTEGER NOT NULL,
      node TEXT NOT NULL,
      -- JSON: [{ node, eligible, score?, totalMs?, reason?, computeBasis? }], best first
      candidates TEXT NOT NULL,
      note TEXT,
      at TEXT NOT NULL
    );`,
  handlers(db) {
    const upsert = db.prepare(`INSERT OR REPLACE INTO task_placements VALUES (@taskId, @attempt, @node, @candidates, @note, @at)`);
    return {
      "tide.task.assigned.v1": ({ event }) => {
        const d = event.data;
        const candidates = d.candidates
          .map((c) => ({
            node: c.node,
            eligible: c.eligible,
            ...(c.score === undefined ? {} : { score: Math.round(c.score * 10) / 10 }),
            ...(c.estimate ? { totalMs: Math.round(c.estimate.totalMs * 10) / 10 } : {}),
            ...(c.reason ? { reason: c.reason } : {}),
            ...(c.computeBasis ? { computeBasis: c.computeBasis } : {}),
          }))
          .sort((a, b) => Number(b.eligible) - Number(a.eligible) || (a.score ?? Infinity) - (b.score ?? Infinity));
        upsert.run({ taskId: d.taskId, attempt: d.attempt, node: d.node, candidates: JSON.stringify(candidates), note: d.note ?? null, at: event.metadata.time });
      },
    };
  },
};
