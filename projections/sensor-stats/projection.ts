import type { Projection } from "../engine/projection.ts";
import { readingsSource } from "../source.ts";

/** count / mean / min / max of each measurement, per device per minute of device time. */
export const sensorStatsProjection: Projection = {
  name: "sensor_stats",
  version: 1,
  description: "count/mean/min/max per device per minute",
  source: readingsSource,
  tables: ["sensor_stats"],
  schema: `
    CREATE TABLE IF NOT EXISTS sensor_stats (
      edge TEXT NOT NULL,
      device TEXT NOT NULL,
      minute TEXT NOT NULL,
      count INTEGER NOT NULL,
      temperature_sum REAL NOT NULL,
      temperature_min REAL NOT NULL,
      temperature_max REAL NOT NULL,
      humidity_sum REAL NOT NULL,
      humidity_min REAL NOT NULL,
      humidity_max REAL NOT NULL,
      PRIMARY KEY (edge, device, minute)
    );
    CREATE VIEW IF NOT EXISTS sensor_stats_view AS
      SELECT edge, device, minute, count,
        temperature_sum / count AS temperature_mean, temperature_min, temperature_max,
        humidity_sum / count AS humidity_mean, humidity_min, humidity_max
      FROM sensor_stats;`,
  handlers(db) {
    const upsert = db.prepare(`
      INSERT INTO sensor_stats VALUES (@edge, @device, @minute, 1, @t, @t, @t, @h, @h, @h)
      ON CONFLICT(edge, device, minute) DO UPDATE SET
        count = count + 1,
        temperature_sum = temperature_sum + excluded.temperature_sum,
        temperature_min = MIN(temperature_min, excluded.temperature_min),
        temperature_max = MAX(temperature_max, excluded.temperature_max),
        humidity_sum = humidity_sum + excluded.humidity_sum,
        humidity_min = MIN(humidity_min, excluded.humidity_min),
        humidity_max = MAX(humidity_max, excluded.humidity_max)`);
    return {
      "tide.reading.recorded.v1": ({ event }) => {
        const { edge, device, ts, temperature, humidity } = event.data;
        upsert.run({ edge, device, minute: `${ts.slice(0, 16)}:00Z`, t: temperature, h: humidity });
      },
    };
  },
};
