import type { Projection } from "../engine/projection.ts";

/** Every epoch of every training run: the loss curves (`training_runs` keeps only the last epoch). */
export const trainingEpochsProjection: Projection = {
  name: "training_epochs",
  version: 1,
  description: "training loss and validation loss per epoch of every run",
  places: ["cloud"],
  source: () => ({ stream: "TRAINING" }),
  tables: ["training_epochs"],
  schema: `
    CREATE TABLE IF NOT EXISTS training_epochs (
      run_id TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      epochs INTEGER NOT NULL,
      loss REAL NOT NULL,
      val_loss REAL NOT NULL,
      samples INTEGER NOT NULL,
      duration_ms REAL NOT NULL,
      at TEXT NOT NULL,
      PRIMARY KEY (run_id, epoch)
    );`,
  handlers(db) {
    const insert = db.prepare(`INSERT OR REPLACE INTO training_epochs VALUES (@runId, @epoch, @epochs, @loss, @valLoss, @samples, @durationMs, @at)`);
    return {
      "tide.training.epoch.completed.v1": ({ event }) => {
        const d = event.data;
        insert.run({ runId: d.runId, epoch: d.epoch, epochs: d.epochs, loss: d.loss, valLoss: d.valLoss, samples: d.samples, durationMs: d.durationMs, at: event.metadata.time });
      },
    };
  },
};
