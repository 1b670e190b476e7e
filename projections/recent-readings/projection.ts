import type { Projection } from "../engine/projection.ts";
import { readingsSource } from "../source.ts";

/** Readings kept per device: enough for a few dozen one-step forecasts with any window up to ~56. */
export const RECENT_READINGS_PER_DEVICE = 64;

/**
 * The newest readings of every device in the cloud (a sliding window per
 * device). The drift monitor replays the production model over them to
 * measure its error on what the edges see now.
 */
export const recentReadingsProjection: Projection = {
  name: "recent_readings",
  version: 2,
  description: `the newest ${RECENT_READINGS_PER_DEVICE} readings of every device (drift monitoring)`,
  places: ["cloud"],
  source: () => readingsSource("cloud"),
  tables: ["recent_readings"],
  schema: `
    CREATE TABLE IF NOT EXISTS recent_readings (
      edge TEXT NOT NULL,
      device TEXT NOT NULL,
      seq INTEGER NOT NULL,
      ts TEXT NOT NULL,
      temperature REAL NOT NULL,
      humidity REAL NOT NULL,
      PRIMARY KEY (edge, device, seq)
    );`,
  handlers(db) {
    const insert = db.prepare(`INSERT OR IGNORE INTO recent_readings VALUES (@edge, @device, @seq, @ts, @temperature, @humidity)`);
    // Keep the K newest of the device: drop everything older than its K-th newest seq (no-op while it has fewer).
    const trim = db.prepare(`
      DELETE FROM recent_readings WHERE edge = @edge AND device = @device AND seq < (
        SELECT seq FROM recent_readings WHERE edge = @edge AND device = @device ORDER BY seq DESC LIMIT 1 OFFSET ${RECENT_READINGS_PER_DEVICE - 1})`);
    return {
      "tide.reading.recorded.v1": ({ seq, event }) => {
        const { edge, device, ts, temperature, humidity } = event.data;
        insert.run({ edge, device, seq, ts, temperature, humidity });
        trim.run({ edge, device });
      },
    };
  },
};
