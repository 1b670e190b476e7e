import type Database from "better-sqlite3";
import type { Projection } from "../engine/projection.ts";
import { readingsSource } from "../source.ts";

/** The latest reading of every device, per edge. */
export const devicesProjection: Projection = {
  name: "devices",
  version: 2,
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
    const upsert = devicesUpsert(db);
    // A batch holds many readings of each device: fold them per device and write each device once per batch.
    const folded = new Map<string, DeviceRow>();
    return {
      "tide.reading.recorded.v1": ({ seq, storedAt, event }) => {
        const { edge, device, ts, temperature, humidity } = event.data;
        const key = `${edge}\u0000${device}`;
        const row = folded.get(key);
        if (!row) {
          folded.set(key, { edge, device, count: 1, seq, id: event.metadata.id, ts, temperature, humidity, storedAt });
          return;
        }
        row.count++;
        row.seq = seq;
        row.storedAt = storedAt;
        // As the upsert does: the newest by device time wins, a later one on a tie.
        if (ts >= row.ts) {
          row.id = event.metadata.id;
          row.ts = ts;
          row.temperature = temperature;
          row.humidity = humidity;
        }
      },
      flush() {
        for (const row of folded.values()) upsert(row);
        folded.clear();
      },
    };
  },
};

/** What a batch's readings of one device come to: how many, the last stored, and the newest by device time. */
export interface DeviceRow {
  edge: string;
  device: string;
  /** Readings folded into this row. */
  count: number;
  /** Stream sequence and stored time of the last of them (stream order). */
  seq: number;
  storedAt: string;
  /** Event id and values of the newest by device time (the later on a tie). */
  id: string;
  ts: string;
  temperature: number;
  humidity: number;
}

/**
 * The devices table's upsert of one row: `count` readings, applied to the
 * stored row as if each had been written on its own (one per reading with
 * count 1 is the plain per-event write).
 */
export function devicesUpsert(db: Database.Database): (row: DeviceRow) => void {
  // Readings can arrive out of device-time order (retries, offline buffers): keep the newest by device time.
  const statement = db.prepare(`
    INSERT INTO devices (edge, device, readings, last_seq, last_event_id, ts, temperature, humidity, stored_at)
    VALUES (@edge, @device, @count, @seq, @id, @ts, @temperature, @humidity, @storedAt)
    ON CONFLICT(edge, device) DO UPDATE SET
      readings = readings + excluded.readings,
      last_seq = excluded.last_seq,
      last_event_id = CASE WHEN excluded.ts >= ts THEN excluded.last_event_id ELSE last_event_id END,
      temperature = CASE WHEN excluded.ts >= ts THEN excluded.temperature ELSE temperature END,
      humidity = CASE WHEN excluded.ts >= ts THEN excluded.humidity ELSE humidity END,
      stored_at = excluded.stored_at,
      ts = CASE WHEN excluded.ts >= ts THEN excluded.ts ELSE ts END`);
  return (row) => void statement.run(row);
}
