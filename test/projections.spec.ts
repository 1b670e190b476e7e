import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { headers as natsHeaders, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApplier, openProjectionDb, type Projection } from "../projections/index.ts";
import { devicesProjection } from "../projections/devices/projection.ts";
import { sensorStatsProjection } from "../projections/sensor-stats/projection.ts";
import { CE, CE_SPEC_VERSION, createEvent, subjects, type ReadingData, type TideEvent } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { createEventWriter } from "../src/store/index.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TIDE = join(ROOT, "bin", "tide.js");

/** Each test has an edge (and so a READINGS stream) of its own, so none sees another's events. */
const EDGE = { fromStream: "1", resume: "2", crash: "3", asOf: "4", invalid: "5", live: "6" } as const;
const EDGES = Object.values(EDGE);
const PROJECTIONS = [devicesProjection, sensorStatsProjection];

type Given = Awaited<ReturnType<typeof givenTopology>>;
let given: Given;
const connections = new Map<string, NatsConnection>();
const nc = (edge: string) => connections.get(edge)!;
let dbCount = 0;

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  for (const edge of EDGES) {
    connections.set(edge, await given.connect(edge));
    await applyStreams({ nc: nc(edge), place: "edge", domain: edgeDomain(edge), context: { edge, edges: EDGES } });
  }
});

afterAll(async () => {
  await given?.cleanup();
});

/** A fresh projection database file in the test directory. */
function freshDb(name: string): Database.Database {
  return openProjectionDb(join(given.dir, "dbs", `${name}-${++dbCount}.db`));
}

function applierOf(edge: string, db: Database.Database, projection: Projection) {
  return createApplier({ nc: nc(edge), db, projection, place: "edge", edge, domain: edgeDomain(edge) });
}

const BASE = Date.parse("2024-06-01T12:00:00.000Z");

/** `n` readings of `devices` in turn, one every `stepMs` of device time, with values that vary per reading. */
function readings(edge: string, devices: readonly string[], n: number, options: { startMs?: number; stepMs?: number; offset?: number } = {}): ReadingData[] {
  const { startMs = BASE, stepMs = 7_000, offset = 0 } = options;
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    return {
      edge,
      device: devices[i % devices.length]!,
      ts: new Date(startMs + i * stepMs).toISOString(),
      seq: i,
      temperature: ((i * 37) % 160) / 4 - 10,
      humidity: ((i * 13) % 100) + 0.5,
    };
  });
}

/** Append readings to the edge's READINGS (route `local`: nothing to forward); resolves to their stream sequences. */
async function append(edge: string, data: readonly ReadingData[]): Promise<number[]> {
  const writer = createEventWriter(nc(edge).jetstream({ domain: edgeDomain(edge) }));
  const acks = await Promise.all(
    data.map((reading) =>
      writer.append(subjects.reading(edge, reading.device, "local"), createEvent({ type: "tide.reading.recorded.v1", data: reading }, { source: "tide://test/projections" }) as TideEvent),
    ),
  );
  return acks.map((a) => a.seq);
}

const rows = (db: Database.Database, table: string) => db.prepare(`SELECT * FROM "${table}" ORDER BY 1, 2, 3`).all();
const tables = (db: Database.Database) => ({ devices: rows(db, "devices"), sensor_stats: rows(db, "sensor_stats") });

async function lastSeq(edge: string): Promise<number> {
  const jsm = await nc(edge).jetstreamManager({ domain: edgeDomain(edge) });
  return (await jsm.streams.info("READINGS")).state.last_seq;
}

/** What the tables must hold for `data`, computed here, independently of the projections. */
function expected(data: readonly ReadingData[]) {
  const devices = new Map<string, { readings: number; ts: string; temperature: number; humidity: number }>();
  const stats = new Map<string, { temperature: number[]; humidity: number[] }>();
  for (const r of data) {
    const d = devices.get(r.device);
    if (!d) devices.set(r.device, { readings: 1, ts: r.ts, temperature: r.temperature, humidity: r.humidity });
    else {
      d.readings++;
      if (r.ts >= d.ts) Object.assign(d, { ts: r.ts, temperature: r.temperature, humidity: r.humidity });
    }
    const minute = `${r.device}|${new Date(Math.floor(Date.parse(r.ts) / 60_000) * 60_000).toISOString().replace(".000Z", "Z")}`;
    const s = stats.get(minute) ?? { temperature: [], humidity: [] };
    s.temperature.push(r.temperature);
    s.humidity.push(r.humidity);
    stats.set(minute, s);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    devices,
    stats: new Map(
      [...stats].map(([key, s]) => [
        key,
        {
          count: s.temperature.length,
          temperature: { mean: mean(s.temperature), min: Math.min(...s.temperature), max: Math.max(...s.temperature) },
          humidity: { mean: mean(s.humidity), min: Math.min(...s.humidity), max: Math.max(...s.humidity) },
        },
      ]),
    ),
  };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function tide(args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [TIDE, ...args], { cwd: ROOT, env: { ...process.env, TIDE_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

describe("projections applied from a stream", () => {
  it("devices and sensor_stats hold exactly what the appended readings say", async () => {
    const edge = EDGE.fromStream;
    const devices = ["alpha", "beta", "gamma"];
    const data = readings(edge, devices, 120);
    // A late reading with an old device time: counted, but not the device's latest.
    data.push({ edge, device: "alpha", ts: new Date(BASE - 3_600_000).toISOString(), temperature: 99, humidity: 1 });
    const seqs = await append(edge, data);
    const db = freshDb("from-stream");

    const results = await Promise.all(PROJECTIONS.map((p) => applierOf(edge, db, p).run()));

    expect(results).toEqual(PROJECTIONS.map(() => ({ applied: data.length, invalid: 0, lastSeq: Math.max(...seqs) })));
    const want = expected(data);
    const deviceRows = db.prepare("SELECT edge, device, readings, ts, temperature, humidity FROM devices ORDER BY device").all();
    expect(deviceRows).toEqual([...want.devices].sort(([a], [b]) => a.localeCompare(b)).map(([device, d]) => ({ edge, device, ...d })));
    expect(want.devices.get("alpha")!.temperature).not.toBe(99);

    const statRows = db.prepare("SELECT * FROM sensor_stats_view ORDER BY device, minute").all() as Record<string, number | string>[];
    expect(statRows).toHaveLength(want.stats.size);
    expect(want.stats.size).toBeGreaterThan(devices.length * 5);
    for (const row of statRows) {
      const w = want.stats.get(`${row.device}|${row.minute}`);
      expect(w, `minute ${row.device} ${row.minute}`).toBeDefined();
      expect(row.edge).toBe(edge);
      expect(row.count).toBe(w!.count);
      expect(row.temperature_mean).toBeCloseTo(w!.temperature.mean, 9);
      expect(row.temperature_min).toBe(w!.temperature.min);
      expect(row.temperature_max).toBe(w!.temperature.max);
      expect(row.humidity_mean).toBeCloseTo(w!.humidity.mean, 9);
      expect(row.humidity_min).toBe(w!.humidity.min);
      expect(row.humidity_max).toBe(w!.humidity.max);
    }
    expect(statRows.reduce((n, r) => n + (r.count as number), 0)).toBe(data.length);
    db.close();
  });
});

describe("exactly-once resume", () => {
  it("a second run applies only what was appended since the checkpoint, and equals a rebuild", async () => {
    const edge = EDGE.resume;
    const devices = ["r1", "r2", "r3", "r4"];
    const first = await append(edge, readings(edge, devices, 50));
    const db = freshDb("resume");
    const appliers = PROJECTIONS.map((p) => applierOf(edge, db, p));

    for (const applier of appliers) {
      expect(await applier.run()).toEqual({ applied: 50, invalid: 0, lastSeq: Math.max(...first) });
      expect(applier.checkpoint()?.last_seq).toBe(Math.max(...first));
    }

    const second = await append(edge, readings(edge, devices, 30, { offset: 50 }));
    for (const applier of appliers) {
      expect(await applier.run()).toEqual({ applied: 30, invalid: 0, lastSeq: Math.max(...second) });
      expect(applier.checkpoint()?.last_seq).toBe(Math.max(...second));
      expect(await applier.run()).toEqual({ applied: 0, invalid: 0, lastSeq: Math.max(...second) });
    }

    const rebuiltDb = freshDb("resume-rebuild");
    for (const p of PROJECTIONS) expect((await applierOf(edge, rebuiltDb, p).rebuild()).applied).toBe(80);
    expect(tables(db)).toEqual(tables(rebuiltDb));
    expect(db.prepare("SELECT SUM(readings) AS n FROM devices").get()).toEqual({ n: 80 });
    db.close();
    rebuiltDb.close();
  });
});

describe("a projection process killed mid-batch", () => {
  it("resumes from its checkpoint after SIGKILL and ends equal to a from-scratch rebuild", async () => {
    const edge = EDGE.crash;
    const total = 30_000;
    const devices = Array.from({ length: 25 }, (_, i) => `k${i}`);
    for (let offset = 0; offset < total; offset += 5_000) await append(edge, readings(edge, devices, 5_000, { offset, stepMs: 1_000 }));
    const streamEnd = await lastSeq(edge);
    expect(streamEnd).toBe(total);

    const dbPath = join(given.dir, edgeDomain(edge), "projections.db");
    const checkpoints = (): Record<string, number> => {
      if (!existsSync(dbPath)) return {};
      let db: Database.Database | undefined;
      try {
        db = new Database(dbPath, { readonly: true, fileMustExist: true });
        db.pragma("busy_timeout = 2000");
        const found = db.prepare("SELECT projection, last_seq FROM tide_checkpoints").all() as { projection: string; last_seq: number }[];
        return Object.fromEntries(found.map((c) => [c.projection, c.last_seq]));
      } catch {
        return {}; // not created yet
      } finally {
        db?.close();
      }
    };
    const projectArgs = ["project", "run", "--edge", edge, "--dir", given.dir];

    const first = tide(projectArgs);
    let seen = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      seen = checkpoints().devices ?? 0;
      if (seen > 0 || first.child.exitCode !== null || Date.now() > deadline) break;
      await sleep(2);
    }
    first.child.kill("SIGKILL");
    const killed = await first.done;
    expect(seen, `a checkpoint before the kill; stderr: ${killed.stderr}`).toBeGreaterThan(0);
    expect(seen, "killed before the end: use more readings if this fails").toBeLessThan(total);
    expect(killed.signal).toBe("SIGKILL");
    const afterKill = checkpoints();
    expect(afterKill.devices).toBeGreaterThanOrEqual(seen);
    expect(afterKill.devices).toBeLessThan(total);

    const second = tide(projectArgs);
    try {
      await eventually(checkpoints, (c) => c.devices === streamEnd && c.sensor_stats === streamEnd, 60_000, "both checkpoints at the stream's end");
    } finally {
      second.child.kill("SIGTERM");
    }
    const stopped = await second.done;
    expect(stopped.code, stopped.stderr).toBe(0);

    const live = new Database(dbPath, { readonly: true, fileMustExist: true });
    const rebuilt = freshDb("crash-rebuild");
    for (const p of PROJECTIONS) expect((await applierOf(edge, rebuilt, p).rebuild()).applied).toBe(total);
    const liveTables = tables(live);
    expect(liveTables.devices).toHaveLength(devices.length);
    expect((live.prepare("SELECT SUM(count) AS n FROM sensor_stats").get() as { n: number }).n).toBe(total);
    expect(liveTables).toEqual(tables(rebuilt));
    live.close();
    rebuilt.close();
  });
});

describe("as-of rebuild", () => {
  it("rebuilt as of a time T equals the projection of what was stored up to T, also through the CLI", async () => {
    const edge = EDGE.asOf;
    const batch1 = readings(edge, ["a1", "a2", "a3"], 40);
    const batch2 = readings(edge, ["a1", "a2", "a3", "a4"], 40, { offset: 40 });
    const seqs1 = await append(edge, batch1);
    await sleep(50);
    const asOf = new Date();
    await sleep(50);
    const seqs2 = await append(edge, batch2);
    expect(Math.min(...seqs2)).toBeGreaterThan(Math.max(...seqs1));

    const upToBatch1 = freshDb("as-of-expected");
    for (const p of PROJECTIONS) expect((await applierOf(edge, upToBatch1, p).run({ toSeq: Math.max(...seqs1) })).applied).toBe(batch1.length);
    const lastStoredOfBatch1 = upToBatch1.prepare("SELECT last_stored_at FROM tide_checkpoints WHERE projection = 'devices'").get() as { last_stored_at: string };
    expect(Date.parse(lastStoredOfBatch1.last_stored_at)).toBeLessThan(asOf.getTime());

    const asOfDb = freshDb("as-of");
    for (const p of PROJECTIONS) {
      expect(await applierOf(edge, asOfDb, p).rebuild({ until: asOf })).toEqual({ applied: batch1.length, invalid: 0, lastSeq: Math.max(...seqs1) });
    }
    expect(tables(asOfDb)).toEqual(tables(upToBatch1));

    const now = freshDb("as-of-now");
    for (const p of PROJECTIONS) await applierOf(edge, now, p).rebuild();
    expect(tables(now)).not.toEqual(tables(upToBatch1));
    expect(rows(now, "devices")).toHaveLength(4);

    const cli = await tide(["project", "rebuild", "devices", "--edge", edge, "--as-of", asOf.toISOString(), "--json", "--dir", given.dir]).done;
    expect(cli.code, cli.stderr).toBe(0);
    const printed = JSON.parse(cli.stdout) as { projection: string; asOf: string; tables: Record<string, unknown[]> };
    expect(printed.projection).toBe("devices");
    expect(printed.asOf).toBe(asOf.toISOString());
    expect(printed.tables.devices).toEqual(rows(upToBatch1, "devices"));
    expect(printed.tables.devices).toHaveLength(3);
    for (const db of [upToBatch1, asOfDb, now]) db.close();
  });
});

describe("invalid stored events", () => {
  it("are counted and skipped by the applier, never reaching a projection", async () => {
    const edge = EDGE.invalid;
    const js = nc(edge).jetstream({ domain: edgeDomain(edge) });
    const [before] = await append(edge, readings(edge, ["v1"], 1));
    const garbage = await js.publish(`tide.reading.${edge}.x.up`, new TextEncoder().encode("\u0000garbage{"));
    const [after] = await append(edge, readings(edge, ["v2"], 1, { offset: 1 }));
    expect([before, garbage.seq, after]).toEqual([1, 2, 3]);
    const db = freshDb("invalid");
    const devices = applierOf(edge, db, devicesProjection);
    const stats = applierOf(edge, db, sensorStatsProjection);

    expect(await devices.run()).toEqual({ applied: 2, invalid: 1, lastSeq: 3 });
    expect(await stats.run()).toEqual({ applied: 2, invalid: 1, lastSeq: 3 });
    expect(devices.checkpoint()).toMatchObject({ last_seq: 3, invalid_skipped: 1 });
    expect(db.prepare("SELECT device FROM devices ORDER BY device").all()).toEqual([{ device: "v1" }, { device: "v2" }]);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sensor_stats WHERE device = 'x'").get()).toEqual({ n: 0 });

    // Complete, correct headers but a reading out of range: invalid too.
    const h = natsHeaders();
    for (const [key, value] of Object.entries({ [CE.specversion]: CE_SPEC_VERSION, [CE.id]: "out-of-range", [CE.type]: "tide.reading.recorded.v1", [CE.source]: "test", [CE.time]: new Date().toISOString() })) h.set(key, value);
    const body = { edge, device: "x", ts: new Date(BASE).toISOString(), temperature: 999, humidity: 40 };
    await js.publish(`tide.reading.${edge}.x.up`, new TextEncoder().encode(JSON.stringify(body)), { headers: h });

    expect(await devices.run()).toEqual({ applied: 0, invalid: 1, lastSeq: 4 });
    expect(devices.checkpoint()).toMatchObject({ last_seq: 4, invalid_skipped: 2 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM devices WHERE device = 'x'").get()).toEqual({ n: 0 });
    db.close();
  });
});

describe("a projection following a live stream", () => {
  it("commits readings that arrive one by one together, within its linger, and ends caught up and equal to a rebuild", async () => {
    const db = freshDb("live");
    const applier = createApplier({ nc: nc(EDGE.live), db, projection: devicesProjection, place: "edge", edge: EDGE.live, domain: edgeDomain(EDGE.live), lingerMs: 200 });
    /** The committed checkpoint as each reading was appended. */
    const commits: number[] = [];
    const stop = new AbortController();
    const running = applier.run({ follow: true, signal: stop.signal });
    const data = readings(EDGE.live, ["a", "b", "c"], 30);
    for (const reading of data) {
      await append(EDGE.live, [reading]);
      commits.push(applier.checkpoint()?.last_seq ?? 0);
      await sleep(5);
    }
    const last = await lastSeq(EDGE.live);
    await eventually(() => applier.checkpoint()?.last_seq, (seq) => seq === last, 10_000, "the live projection's checkpoint at the stream's end");
    // 30 readings 5 ms apart within a 200 ms linger: far fewer checkpoints than readings were seen along the way.
    expect(new Set(commits).size).toBeLessThan(15);
    stop.abort();
    const result = await running;
    expect(result.lastSeq).toBe(last);
    const rebuilt = freshDb("live-rebuilt");
    await createApplier({ nc: nc(EDGE.live), db: rebuilt, projection: devicesProjection, place: "edge", edge: EDGE.live, domain: edgeDomain(EDGE.live) }).rebuild();
    expect(rows(db, "devices")).toEqual(rows(rebuilt, "devices"));
  });

  it("a commit that fails in the linger ends the run with its error instead of crashing the process", async () => {
    const db = freshDb("live-failing");
    const failing: Projection = {
      ...devicesProjection,
      name: "devices_failing",
      handlers: () => ({
        "tide.reading.recorded.v1": ({ event }) => {
          if (event.data.device === "boom") throw new Error("handler refused boom");
        },
      }),
    };
    const applier = createApplier({ nc: nc(EDGE.live), db, projection: failing, place: "edge", edge: EDGE.live, domain: edgeDomain(EDGE.live), lingerMs: 20 });
    const running = applier.run({ follow: true });
    await append(EDGE.live, readings(EDGE.live, ["boom"], 1));
    await expect(running).rejects.toThrow("handler refused boom");
    // Nothing of the failed batch was committed: the checkpoint stays before the reading.
    expect(applier.checkpoint()?.last_seq ?? 0).toBeLessThan(await lastSeq(EDGE.live));
  });
});
