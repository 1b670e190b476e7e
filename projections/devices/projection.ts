import type { Projection } from "../engine/projection.ts";
import { readingsSource } from "../source.ts";

/** The latest reading of every device, per edge. */
export const devicesProjection: Projection = {
  name: "devices",
  version: 1,
  description: "latest reading per device, per edge",
  source: readingsSource,
  tables: ["devices"],
  schema: `
    CREATE TABLE IF NOT EXISTS devices (
      edge TEXT NOT NULL,
      device TEXT NOT NULL,
      readings INTEGER NOT NULL,
      last_seq INTEGER NOT NULL,
      last_event_id TEXT NOT NULL,
      ts TEXT NOT NULL,
      temperature REAL NOT NULL,
      humidity REAL NOT NULL,
      stored_at TEXT NOT NULL,
      PRIMARY KEY (edge, device)
    );`,
  handlers(db) {
    // Readings can arrive out of device-time order (retries, offline buffers): keep the newest by device time.
    const upsert = db.prepare(`
      INSERT INTO devices (edge, device, readings, last_seq, last_event_id, ts, temperature, humidity, stored_at)
      VALUES (@edge, @device, 1, @seq, @id, @ts, @temperature, @humidity, @storedAt)
      ON CONFLICT(edge, device) DO UPDATE SET
        readings = readings + 1,
        last_seq = excluded.last_seq,
        last_event_id = CASE WHEN excluded.ts >= ts THEN excluded.last_event_id ELSE last_event_id END,
        temperature = CASE WHEN excluded.ts >= ts THEN excluded.temperature ELSE temperature END,
        humidity = CASE WHEN excluded.ts >= ts THEN excluded.humidity ELSE humidity END,
        stored_at = excluded.stored_at,
        ts = CASE WHEN excluded.ts >= ts THEN excluded.ts ELSE ts END`);
    return {
      "tide.reading.recorded.v1": ({ seq, storedAt, event }) => {
        const { edge, device, ts, temperature, humidity } = event.data;
        upsert.run({ edge, device, seq, id: event.metadata.id, ts, temperature, humidity, storedAt });
      },
    };
  },
};
