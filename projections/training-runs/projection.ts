import type { Projection } from "../engine/projection.ts";

/** Every training run: why it was asked for, its dataset, its progress, and how it ended. */
export const trainingRunsProjection: Projection = {
  name: "training_runs",
  version: 1,
  description: "training runs: trigger, dataset range and hash, epochs, outcome",
  places: ["cloud"],
  source: () => ({ stream: "TRAINING" }),
  tables: ["training_runs"],
  schema: `
    CREATE TABLE IF NOT EXISTS training_runs (
      run_id TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      detail TEXT,
      force INTEGER NOT NULL,
      -- requested, running, completed, failed
      status TEXT NOT NULL,
      requested_at TEXT NOT NULL,
      requested_seq INTEGER NOT NULL,
      trainer TEXT,
      started_at TEXT,
      from_seq INTEGER,
      to_seq INTEGER,
      readings INTEGER,
      dataset_hash TEXT,
      backend TEXT,
      epochs INTEGER,
      epochs_done INTEGER NOT NULL DEFAULT 0,
      loss REAL,
      val_loss REAL,
      version TEXT,
      published INTEGER,
      failure TEXT,
      stage TEXT,
      ended_at TEXT
    );`,
  handlers(db) {
    const requested = db.prepare(`
      INSERT OR IGNORE INTO training_runs (run_id, reason, detail, force, status, requested_at, requested_seq)
      VALUES (@runId, @reason, @detail, @force, 'requested', @at, @seq)`);
    const started = db.prepare(`
      UPDATE training_runs SET status = 'running', trainer = @trainer, started_at = @at, from_seq = @fromSeq, to_seq = @toSeq, readings = @readings,
        dataset_hash = @datasetHash, backend = @backend, epochs = @epochs WHERE run_id = @runId`);
    const epoch = db.prepare(`UPDATE training_runs SET epochs_done = @epoch, loss = @loss, val_loss = @valLoss WHERE run_id = @runId`);
    const completed = db.prepare(`UPDATE training_runs SET status = 'completed', version = @version, published = @published, ended_at = @at WHERE run_id = @runId`);
    const failed = db.prepare(`UPDATE training_runs SET status = 'failed', failure = @reason, stage = @stage, ended_at = @at WHERE run_id = @runId`);
    return {
      "tide.training.requested.v1": ({ seq, event }) => {
        const d = event.data;
        requested.run({ runId: d.runId, reason: d.reason, detail: d.detail ?? null, force: d.force ? 1 : 0, at: event.metadata.time, seq });
      },
      "tide.training.started.v1": ({ event }) => {
        const d = event.data;
        started.run({ runId: d.runId, trainer: d.trainer, at: event.metadata.time, fromSeq: d.fromSeq, toSeq: d.toSeq, readings: d.readings, datasetHash: d.datasetHash, backend: d.backend, epochs: d.epochs });
      },
      "tide.training.epoch.completed.v1": ({ event }) => {
        const d = event.data;
        epoch.run({ runId: d.runId, epoch: d.epoch, loss: d.loss, valLoss: d.valLoss });
      },
      "tide.training.completed.v1": ({ event }) => {
        const d = event.data;
        completed.run({ runId: d.runId, version: d.version, published: d.published ? 1 : 0, at: event.metadata.time });
      },
      "tide.training.failed.v1": ({ event }) => {
        const d = event.data;
        failed.run({ runId: d.runId, reason: d.reason, stage: d.stage ?? null, at: event.metadata.time });
      },
    };
  },
};
