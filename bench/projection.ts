import type Database from "better-sqlite3";
import { join } from "node:path";
import { edgeReadings } from "../streams/edge/readings.ts";
import { devicesProjection, devicesUpsert, type DeviceRow } from "../projections/devices/projection.ts";
import { createApplier, openProjectionDb, type Projection } from "../projections/index.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { describeRate, interleaved, perSecond, ratioFigure, round, timeRate, type Rate } from "./measure.ts";
import { DEVICES, fillReadings, fixedReadingEvent } from "./readings.ts";
import type { BenchOutcome } from "./types.ts";

/** The applier's default, used by both sides. */
const BATCH = 1000;

/**
 * projection.ratio: events applied per second by the `devices` projection's
 * applier, reading READINGS from JetStream, against bare better-sqlite3
 * upserts of the same rows from memory in transactions of the same size.
 */
export async function projectionBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const { projection: n, runs } = ctx.sizes;
  return withTopology(ctx, { edgeStreams: [edgeReadings] }, async ({ connect, edge, edgeDomain, dir }) => {
    const nc = await connect(edge);
    ctx.progress(`projection: filling READINGS with ${n.toLocaleString("en-US")} readings`);
    await fillReadings(nc.jetstream(), edge, n);

    let dbs = 0;
    const freshDb = () => openProjectionDb(join(dir, `projection-${++dbs}.db`));
    const withDb = async (work: (db: Database.Database) => Promise<Rate>) => {
      const db = freshDb();
      try {
        return await work(db);
      } finally {
        db.close();
      }
    };

    /** Apply the whole stream with `projection`'s applier into a fresh file. */
    const applyAll = (projection: Projection) =>
      withDb(async (db) => {
        const applier = createApplier({ nc, db, projection, place: "edge", edge, domain: edgeDomain, batchSize: BATCH });
        let applied = 0;
        const rate = await timeRate(n, async () => {
          applied = (await applier.run()).applied;
        });
        if (applied !== n) throw new Error(`${projection.name} applied ${applied} of ${n} events`);
        return rate;
      });
    const ours = () => applyAll(devicesProjection);
    // Diagnostic: the same applier with the projection writing every event on its own (no folding per batch).
    const perEvent = () =>
      applyAll({
        ...devicesProjection,
        name: "devices_per_event",
        handlers: (db) => {
          const upsert = devicesUpsert(db);
          return {
            "tide.reading.recorded.v1": ({ seq, storedAt, event: { data, metadata } }) =>
              upsert({ edge: data.edge, device: data.device, count: 1, seq, id: metadata.id, ts: data.ts, temperature: data.temperature, humidity: data.humidity, storedAt }),
          };
        },
      });
    // Diagnostic: where our time goes, the same applier and stream with a handler that writes nothing.
    const readOnly = () => applyAll({ ...devicesProjection, name: "devices_read_only", tables: [], schema: "SELECT 1", handlers: () => ({ "tide.reading.recorded.v1": () => undefined }) });

    // The same rows, in memory before the clock starts (built per run and dropped after it, so they do not
    // sit in this process's memory while ours runs), written by the projection's own prepared upsert.
    const rowsOf = (): DeviceRow[] =>
      Array.from({ length: n }, (_, i) => {
        const { data, metadata } = fixedReadingEvent(edge, i);
        return { edge: data.edge, device: data.device, count: 1, seq: i + 1, id: metadata.id, ts: data.ts, temperature: data.temperature, humidity: data.humidity, storedAt: metadata.time };
      });
    const raw = () =>
      withDb(async (db) => {
        const rows = rowsOf();
        db.exec(devicesProjection.schema);
        const upsert = devicesUpsert(db);
        const write = db.transaction((from: number, to: number) => {
          for (let i = from; i < to; i++) upsert(rows[i]!);
        });
        return timeRate(n, () => {
          for (let from = 0; from < n; from += BATCH) write(from, Math.min(n, from + BATCH));
        });
      });

    ctx.progress("projection: warming up");
    await ours();
    await raw();
    const rates = await interleaved(runs, { ours, raw, perEvent, readOnly }, (side, run, rate) => ctx.progress(`projection: ${side} run ${run + 1}: ${perSecond(rate)}`));
    return {
      figures: [ratioFigure("projection.ratio", "events/s", rates.ours, rates.raw, 0.5)],
      title: "Projection (`projection.ratio`)",
      how:
        `The edge's READINGS holds ${n.toLocaleString("en-US")} readings from ${DEVICES} devices. Ours: \`createApplier\` for the \`devices\` ` +
        "projection, `run()` from the first event to the end, into a fresh SQLite file (`openProjectionDb`: WAL, synchronous NORMAL) — " +
        `it includes reading the stream from JetStream (\`readBatches\`: an ephemeral pull consumer, ${BATCH} per pull), decoding and ` +
        `validating every event (CloudEvents headers, schema), folding each batch per device and upserting each device once, and the ` +
        `checkpoint row, in transactions of ${BATCH}. ` +
        `Ceiling: the same rows as an in-memory array, written by the projection's own prepared upsert on a fresh file opened the same way, ` +
        `in transactions of ${BATCH}, no checkpoint. Each side runs once to warm up, then ${runs} time(s) interleaved; best run counts.`,
      details: [
        `ours ${describeRate(rates.ours)}; bare SQLite ${describeRate(rates.raw)}.`,
        `Diagnostic: the same applier with the projection writing every event on its own (no folding): ${describeRate(rates.perEvent)}, ` +
          `${round(rates.perEvent.perSecond / rates.raw.perSecond, 2)} of the ceiling.`,
        `Diagnostic: the same applier over the same stream with a handler that writes nothing (read + decode + validate + batch + checkpoint): ` +
          `${describeRate(rates.readOnly)}` +
          (rates.readOnly.perSecond < rates.raw.perSecond ? ": reading and decoding an event alone costs more than the ceiling's whole upsert." : "."),
      ],
    };
  });
}

