import type Database from "better-sqlite3";
import type { Projection } from "../engine/projection.ts";
import { readingsSource } from "../source.ts";

/** count / mean / min / max of each measurement, per device per minute of device time. */
export const sensorStatsProjection: Projection = {
  name: "sensor_stats",
  version: 2,
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
    const read = db.prepare(
      "SELECT count, temperature_sum, temperature_min, temperature_max, humidity_sum, humidity_min, humidity_max FROM sensor_stats WHERE edge = ? AND device = ? AND minute = ?",
    );
    const write = db.prepare("INSERT OR REPLACE INTO sensor_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    // A batch holds many readings of a device-minute: fold them and write each device-minute once per batch.
    const folded = new Map<string, Bucket>();
    return {
      "tide.reading.recorded.v1": ({ event }) => {
        const { edge, device, ts, temperature, humidity } = event.data;
        const minute = minuteOf(ts);
        const key = `${edge}\u0000${device}\u0000${minute}`;
        const bucket = folded.get(key);
        if (bucket) bucket.values.push(temperature, humidity);
        else folded.set(key, { edge, device, minute, values: [temperature, humidity] });
      },
      flush() {
        for (const { edge, device, minute, values } of folded.values()) {
          const stored = read.get(edge, device, minute) as StatsRow | undefined;
          const row = stored ? { ...stored } : firstRow(values[0]!, values[1]!);
          for (let i = stored ? 0 : 2; i < values.length; i += 2) addTo(row, values[i]!, values[i + 1]!);
          write.run(edge, device, minute, row.count, row.temperature_sum, row.temperature_min, row.temperature_max, row.humidity_sum, row.humidity_min, row.humidity_max);
        }
        folded.clear();
      },
    };
  },
};

const minuteOf = (ts: string) => `${ts.slice(0, 16)}:00Z`;

/** A batch's readings of one device-minute: temperature and humidity of each, in stream order. */
interface Bucket {
  edge: string;
  device: string;
  minute: string;
  values: number[];
}

interface StatsRow {
  count: number;
  temperature_sum: number;
  temperature_min: number;
  temperature_max: number;
  humidity_sum: number;
  humidity_min: number;
  humidity_max: number;
}

function firstRow(t: number, h: number): StatsRow {
  return { count: 1, temperature_sum: t, temperature_min: t, temperature_max: t, humidity_sum: h, humidity_min: h, humidity_max: h };
}

/**
 * One reading added as the per-reading upsert adds it: the same additions in
 * the same order (floating point is not associative: the sum must not be
 * folded on its own), MIN and MAX.
 */
function addTo(row: StatsRow, t: number, h: number): void {
  row.count++;
  row.temperature_sum += t;
  row.temperature_min = Math.min(row.temperature_min, t);
  row.temperature_max = Math.max(row.temperature_max, t);
  row.humidity_sum += h;
  row.humidity_min = Math.min(row.humidity_min, h);
  row.humidity_max = Math.max(row.humidity_max, h);
}

/**
 * The per-reading write the fold replaces (one upsert per reading): the
 * reference the fold is held to, bit for bit (projections/devices/projection.unit.spec.ts).
 */
export function sensorStatsUpsert(db: Database.Database): (edge: string, device: string, ts: string, temperature: number, humidity: number) => void {
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
  return (edge, device, ts, temperature, humidity) => void upsert.run({ edge, device, minute: minuteOf(ts), t: temperature, h: humidity });
}
