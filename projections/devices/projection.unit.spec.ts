import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createEvent } from "../../src/events/envelope.ts";
import type { StoredEvent } from "../../src/store/read-stream.ts";
import type { Projection } from "../engine/projection.ts";
import { sensorStatsProjection, sensorStatsUpsert } from "../sensor-stats/projection.ts";
import { devicesProjection, devicesUpsert } from "./projection.ts";

/** A deterministic generator (the same events every run). */
function lcg(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/**
 * Readings of 6 devices on 2 edges in stream order, with device times out of
 * order, repeated (ties) and spread over a few minutes, values with fractions
 * that do not add up exactly in floating point.
 */
function readings(n: number, seed: number): StoredEvent<StoredEvent["event"] & { type: "tide.reading.recorded.v1" }>[] {
  const random = lcg(seed);
  return Array.from({ length: n }, (_, i) => {
    const edge = random() < 0.5 ? "1" : "2";
    const device = `d${Math.floor(random() * 3)}`;
    const ts = new Date(Date.UTC(2025, 0, 1, 0, 0, 0) + Math.floor(random() * 40) * 7_000).toISOString();
    // Some exact zeros of both signs too (a device may send -0; SQLite stores it as 0).
    const zero = i % 37 === 0 ? -0 : i % 41 === 0 ? 0 : undefined;
    const data = { edge, device, ts, temperature: zero ?? Math.round(random() * 1_000) / 7 - 40, humidity: zero ?? Math.round(random() * 1_000) / 13 };
    const event = createEvent({ type: "tide.reading.recorded.v1" as const, data }, { source: "tide://test", id: `r-${i}`, time: ts });
    return { seq: i + 1, subject: `tide.reading.${edge}.${device}`, storedAt: new Date(Date.UTC(2025, 0, 1) + i).toISOString(), pending: n - i - 1, event };
  });
}

const tableOf = (db: Database.Database, table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all();

/** Apply events through the projection's handlers as the applier does: a flush at the end of every batch. */
function applyInBatches(projection: Projection, events: StoredEvent[], batchSizes: () => number): Database.Database {
  const db = new Database(":memory:");
  db.exec(projection.schema);
  const { flush, ...handlers } = projection.handlers(db) as Record<string, (e: StoredEvent) => void> & { flush?: () => void };
  for (let from = 0; from < events.length; ) {
    const to = Math.min(events.length, from + batchSizes());
    db.transaction(() => {
      for (const e of events.slice(from, to)) handlers[e.event.type]?.(e);
      flush?.();
    })();
    from = to;
  }
  return db;
}

describe("folded projections end as if every event were written on its own", () => {
  const events = readings(2_000, 7);

  it("devices: a batch's readings of a device written once give the table the per-reading upserts give", () => {
    const perEvent = new Database(":memory:");
    perEvent.exec(devicesProjection.schema);
    const upsert = devicesUpsert(perEvent);
    for (const { seq, storedAt, event } of events) {
      const { edge, device, ts, temperature, humidity } = event.data;
      upsert({ edge, device, count: 1, seq, id: event.metadata.id, ts, temperature, humidity, storedAt });
    }
    const expected = tableOf(perEvent, "devices");
    expect(expected).toHaveLength(6);
    for (const seed of [1, 2, 3]) {
      const sizes = lcg(seed);
      expect(tableOf(applyInBatches(devicesProjection, events, () => 1 + Math.floor(sizes() * 300)), "devices")).toStrictEqual(expected);
    }
    expect(tableOf(applyInBatches(devicesProjection, events, () => 1), "devices")).toStrictEqual(expected);
  });

  it("sensor_stats: sums, minima and maxima equal the per-reading upserts' bit for bit, whatever the batches", () => {
    const perEvent = new Database(":memory:");
    perEvent.exec(sensorStatsProjection.schema);
    const upsert = sensorStatsUpsert(perEvent);
    for (const { event } of events) upsert(event.data.edge, event.data.device, event.data.ts, event.data.temperature, event.data.humidity);
    const expected = tableOf(perEvent, "sensor_stats");
    expect(expected.length).toBeGreaterThan(6);
    for (const seed of [1, 2, 3]) {
      const sizes = lcg(seed);
      expect(tableOf(applyInBatches(sensorStatsProjection, events, () => 1 + Math.floor(sizes() * 300)), "sensor_stats")).toStrictEqual(expected);
    }
    expect(tableOf(applyInBatches(sensorStatsProjection, events, () => events.length), "sensor_stats")).toStrictEqual(expected);
  });
});
