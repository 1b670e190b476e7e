import type { Projection } from "../engine/projection.ts";

/**
 * Every task: its needs, where it ran, the estimate it was placed with and
 * what it actually took (the T_delay breakdown), and one row per attempt
 * (`task_runs`: when it ran where, for utilisation).
 */
export const tasksProjection: Projection = {
  name: "tasks",
  version: 1,
  description: "tasks and their attempts: placement, estimate vs actual T_delay, outcome",
  places: ["cloud"],
  source: () => ({ stream: "TASKS" }),
  tables: ["tasks", "task_runs"],
  schema: `
    CREATE TABLE IF NOT EXISTS tasks (
      task_id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      priority INTEGER NOT NULL,
      cpu REAL NOT NULL,
      memory_mb REAL NOT NULL,
      deadline TEXT,
      data_edge TEXT,
      bytes INTEGER,
      -- pending, assigned, running, completed, abandoned
      status TEXT NOT NULL,
      node TEXT,
      attempt INTEGER NOT NULL DEFAULT 0,
      progress REAL,
      submitted_at TEXT NOT NULL,
      assigned_at TEXT,
      started_at TEXT,
      ended_at TEXT,
      est_transmit_ms REAL, est_compute_ms REAL, est_queue_ms REAL, est_total_ms REAL,
      deadline_met INTEGER,
      note TEXT,
      act_transmit_ms REAL, act_compute_ms REAL, act_queue_ms REAL,
      completions INTEGER NOT NULL DEFAULT 0,
      reschedules INTEGER NOT NULL DEFAULT 0,
      last_reason TEXT,
      result TEXT
    );
    CREATE INDEX IF NOT EXISTS tasks_by_submission ON tasks (submitted_at);
    CREATE TABLE IF NOT EXISTS task_runs (
      task_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      node TEXT NOT NULL,
      cpu REAL NOT NULL,
      memory_mb REAL NOT NULL,
      assigned_at TEXT NOT NULL,
      started_at TEXT,
      ended_at TEXT,
      -- assigned, running, completed, failed, rescheduled, abandoned
      outcome TEXT NOT NULL,
      PRIMARY KEY (task_id, attempt)
    );
    CREATE INDEX IF NOT EXISTS task_runs_by_node ON task_runs (node, started_at);`,
  handlers(db) {
    const submitted = db.prepare(`
      INSERT OR IGNORE INTO tasks (task_id, kind, priority, cpu, memory_mb, deadline, data_edge, bytes, status, submitted_at)
      VALUES (@taskId, @kind, @priority, @cpu, @memoryMb, @deadline, @edge, @bytes, 'pending', @at)`);
    const assigned = db.prepare(`
      UPDATE tasks SET status = 'assigned', node = @node, attempt = @attempt, assigned_at = @at, started_at = NULL, progress = NULL,
        est_transmit_ms = @transmitMs, est_compute_ms = @computeMs, est_queue_ms = @queueMs, est_total_ms = @totalMs, deadline_met = @met, note = @note
      WHERE task_id = @taskId`);
    const run = db.prepare(`
      INSERT OR REPLACE INTO task_runs (task_id, attempt, node, cpu, memory_mb, assigned_at, outcome)
      SELECT task_id, @attempt, @node, cpu, memory_mb, @at, 'assigned' FROM tasks WHERE task_id = @taskId`);
    const started = db.prepare(`UPDATE tasks SET status = 'running', started_at = @at WHERE task_id = @taskId AND attempt = @attempt`);
    const runStarted = db.prepare(`UPDATE task_runs SET started_at = @at, outcome = 'running' WHERE task_id = @taskId AND attempt = @attempt`);
    const progressed = db.prepare(`UPDATE tasks SET progress = @fraction WHERE task_id = @taskId AND attempt = @attempt`);
    const runEnded = db.prepare(`UPDATE task_runs SET ended_at = COALESCE(ended_at, @at), outcome = @outcome WHERE task_id = @taskId AND attempt = @attempt`);
    const completed = db.prepare(`
      UPDATE tasks SET status = 'completed', ended_at = @at, progress = 1, completions = completions + 1,
        act_transmit_ms = @transmitMs, act_compute_ms = @computeMs, act_queue_ms = @queueMs, result = @result
      WHERE task_id = @taskId`);
    const failed = db.prepare(`UPDATE tasks SET last_reason = @reason WHERE task_id = @taskId`);
    const rescheduled = db.prepare(`UPDATE tasks SET status = 'pending', node = NULL, reschedules = reschedules + 1, last_reason = @reason WHERE task_id = @taskId`);
    const abandoned = db.prepare(`UPDATE tasks SET status = 'abandoned', ended_at = @at, last_reason = @reason WHERE task_id = @taskId`);
    return {
      "tide.task.submitted.v1": ({ event }) => {
        const d = event.data;
        submitted.run({ taskId: d.taskId, kind: d.kind, priority: d.priority, cpu: d.needs.cpu, memoryMb: d.needs.memoryMb, deadline: d.deadline ?? null, edge: d.data ? (d.data.edge ?? "cloud") : null, bytes: d.data?.bytes ?? null, at: event.metadata.time });
      },
      "tide.task.assigned.v1": ({ event }) => {
        const d = event.data;
        const at = event.metadata.time;
        assigned.run({ taskId: d.taskId, node: d.node, attempt: d.attempt, at, ...d.estimate, met: d.deadlineMet ? 1 : 0, note: d.note ?? null });
        run.run({ taskId: d.taskId, attempt: d.attempt, node: d.node, at });
      },
      "tide.task.started.v1": ({ event }) => {
        const key = { taskId: event.data.taskId, attempt: event.data.attempt, at: event.metadata.time };
        started.run(key);
        runStarted.run(key);
      },
      "tide.task.progressed.v1": ({ event }) => void progressed.run({ taskId: event.data.taskId, attempt: event.data.attempt, fraction: event.data.fraction }),
      "tide.task.completed.v1": ({ event }) => {
        const d = event.data;
        completed.run({ taskId: d.taskId, at: event.metadata.time, transmitMs: d.actual.transmitMs, computeMs: d.actual.computeMs, queueMs: d.actual.queueMs, result: d.result === undefined ? null : JSON.stringify(d.result) });
        runEnded.run({ taskId: d.taskId, attempt: d.attempt, at: event.metadata.time, outcome: "completed" });
      },
      "tide.task.failed.v1": ({ event }) => {
        failed.run({ taskId: event.data.taskId, reason: `failed on ${event.data.node}: ${event.data.reason}` });
        runEnded.run({ taskId: event.data.taskId, attempt: event.data.attempt, at: event.metadata.time, outcome: "failed" });
      },
      "tide.task.rescheduled.v1": ({ event }) => {
        const d = event.data;
        rescheduled.run({ taskId: d.taskId, reason: `${d.reason}${d.detail ? `: ${d.detail}` : ""}` });
        runEnded.run({ taskId: d.taskId, attempt: d.attempt, at: event.metadata.time, outcome: "rescheduled" });
      },
      "tide.task.abandoned.v1": ({ event }) => {
        const d = event.data;
        abandoned.run({ taskId: d.taskId, at: event.metadata.time, reason: `${d.reason}${d.detail ? `: ${d.detail}` : ""}` });
        runEnded.run({ taskId: d.taskId, attempt: d.attempts, at: event.metadata.time, outcome: "abandoned" });
      },
    };
  },
};
