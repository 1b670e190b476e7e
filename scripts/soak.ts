/**
 * `npm run soak [-- --minutes M --devices N --interval-ms MS --sample-s S --max-slope MIB --max-lag N
 * --max-lag-slope N --out FILE]`: a steady load on 2 edges (`tide edge` processes) and the cloud
 * (`tide cloud`) for M minutes (default 10). Every S seconds (default 10) it samples each process's RSS
 * and the uplink lag (readings stored on the edge, not yet in the cloud); at the end it checks that every
 * acked reading is in the cloud exactly once, and reports the memory slope and the lag after a warm-up
 * (2 minutes, or a fifth of a shorter run).
 *
 * Exits 1 when a reading was lost or stored twice, a process stopped running, or, after the warm-up:
 * any process's memory grew faster than --max-slope MiB/min (least squares; default 2), or the uplink
 * lag of an edge exceeded --max-lag readings (default 1,000: 10 s of an edge's default load) or grew
 * through the run faster than --max-lag-slope readings/min (least squares; default 60, one a second).
 * The slopes are judged only over at least 5 minutes and 10 samples after the warm-up (RSS is a GC
 * sawtooth); a shorter run says so and is not failed on them.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseFlags } from "./flags.ts";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readMessages } from "../src/store/read-stream.ts";
import { startDeviceLoad, type DeviceLoad } from "../test/faults/devices.ts";
import { givenFaultSystem } from "../test/faults/system.ts";

const { values } = parseFlags({
  options: {
    minutes: { type: "string", default: "10" },
    devices: { type: "string", default: "5" },
    "interval-ms": { type: "string", default: "40" },
    "sample-s": { type: "string", default: "10" },
    "max-slope": { type: "string", default: "2" },
    "max-lag": { type: "string", default: "1000" },
    "max-lag-slope": { type: "string", default: "60" },
    out: { type: "string" },
  },
});
const minutes = Number(values.minutes);
const EDGES = ["1", "2"];
const SAMPLE_MS = Number(values["sample-s"]) * 1000;
const WARMUP_MS = Math.min(120_000, (minutes * 60_000) / 5);
/** The bounds a soak must stay within after the warm-up (RELIABILITY.md, "Soak"). */
const BOUNDS = { memorySlopeMbPerMin: Number(values["max-slope"]), uplinkLag: Number(values["max-lag"]), uplinkLagSlopePerMin: Number(values["max-lag-slope"]) };
/**
 * Slopes are judged over at least this much steady run: a runtime's RSS is a GC sawtooth (about 16 MiB
 * up and down every 40 s or so under the default load), so a slope over a minute or two says nothing.
 */
const JUDGED = { minutes: 5, samples: 10 };
for (const [name, value] of Object.entries({ minutes, "sample-s": SAMPLE_MS / 1000, "max-slope": BOUNDS.memorySlopeMbPerMin, "max-lag": BOUNDS.uplinkLag, "max-lag-slope": BOUNDS.uplinkLagSlopePerMin })) {
  const positive = name === "minutes" || name === "sample-s";
  if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    process.stderr.write(`--${name}: a number ${positive ? "> 0" : ">= 0"}, got ${JSON.stringify(values[name as keyof typeof values])}\n`);
    process.exit(2);
  }
}

function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function readingsIn(nc: NatsConnection, domain: string, filter: string): Promise<number> {
  const info = await (await nc.jetstreamManager({ domain })).streams.info("READINGS", { subjects_filter: filter });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const log = (msg: string) => process.stderr.write(`[soak] ${msg}\n`);

const system = await givenFaultSystem({ edges: EDGES });
try {
  const hub = await system.connect(CLOUD_DOMAIN);
  const loads = new Map<string, DeviceLoad>();
  const edgeNcs = new Map<string, NatsConnection>();
  for (const edge of EDGES) {
    edgeNcs.set(edge, await system.connect(edge));
    loads.set(edge, startDeviceLoad(await system.connect(edge), edge, { devices: Number(values.devices), intervalMs: Number(values["interval-ms"]), prefix: `soak${edge}` }));
  }
  const processes = ["edge-runtime-1", "edge-runtime-2", "cloud"];
  const samples: { t: number; rss: Record<string, number | undefined>; lag: Record<string, number>; acked: Record<string, number> }[] = [];
  const started = Date.now();
  log(`steady load on edges ${EDGES.join(", ")} for ${minutes} min`);
  while (Date.now() - started < minutes * 60_000) {
    await sleep(SAMPLE_MS);
    const lag: Record<string, number> = {};
    const acked: Record<string, number> = {};
    for (const edge of EDGES) {
      // Readings routed up only: a policy may keep some on the edge (`.local`), and those never reach the cloud.
      const [onEdge, inCloud] = await Promise.all([readingsIn(edgeNcs.get(edge)!, edgeDomain(edge), `tide.reading.${edge}.*.up`), readingsIn(hub, CLOUD_DOMAIN, `tide.reading.${edge}.>`)]);
      lag[edge] = onEdge - inCloud;
      acked[edge] = loads.get(edge)!.acked.length;
    }
    const rss = Object.fromEntries(processes.map((p) => [p, rssMb(system.process(p).pid)]));
    samples.push({ t: Date.now() - started, rss, lag, acked });
    log(`${Math.round((Date.now() - started) / 1000)} s: acked ${JSON.stringify(acked)} lag ${JSON.stringify(lag)} rss ${JSON.stringify(Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, v?.toFixed(0)])))}`);
  }
  const durationS = (Date.now() - started) / 1000;
  for (const load of loads.values()) await load.stop();

  // Nothing lost: every acked reading in the cloud, once.
  const lost: Record<string, number> = {};
  const doubled: Record<string, number> = {};
  for (const edge of EDGES) {
    const acked = new Set(loads.get(edge)!.acked.map((a) => a.id));
    const deadline = Date.now() + 120_000;
    let counts = new Map<string, number>();
    for (;;) {
      counts = new Map();
      for await (const m of readMessages(hub, { stream: "READINGS", domain: CLOUD_DOMAIN, subject: `tide.reading.${edge}.>` })) {
        const id = m.headers?.get("Nats-Msg-Id") ?? "";
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      if ([...acked].every((id) => counts.has(id)) || Date.now() > deadline) break;
      await sleep(2000);
    }
    lost[edge] = [...acked].filter((id) => !counts.has(id)).length;
    doubled[edge] = [...counts.values()].filter((n) => n > 1).length;
  }
  const steady = samples.filter((s) => s.t >= WARMUP_MS);
  const steadyMinutes = steady.length > 1 ? (steady.at(-1)!.t - steady[0]!.t) / 60_000 : 0;
  const judged = steady.length >= JUDGED.samples && steadyMinutes >= JUDGED.minutes;
  const memory = Object.fromEntries(
    processes.map((p) => {
      const points = steady.flatMap((s) => (s.rss[p] === undefined ? [] : [[s.t / 60_000, s.rss[p]!] as [number, number]]));
      const all = samples.flatMap((s) => (s.rss[p] === undefined ? [] : [s.rss[p]!]));
      return [p, { slopeMbPerMin: Number(slope(points).toFixed(3)), firstMb: Number((points[0]?.[1] ?? 0).toFixed(1)), lastMb: Number((points.at(-1)?.[1] ?? 0).toFixed(1)), maxMb: Number(Math.max(...all).toFixed(1)) }];
    }),
  );
  const result = {
    date: new Date().toISOString(),
    minutes: Number((durationS / 60).toFixed(2)),
    edges: EDGES.length,
    devicesPerEdge: Number(values.devices),
    acked: Object.fromEntries(EDGES.map((e) => [e, loads.get(e)!.acked.length])),
    readingsPerSecond: Object.fromEntries(EDGES.map((e) => [e, Number((loads.get(e)!.acked.length / durationS).toFixed(1))])),
    deviceRetries: Object.fromEntries(EDGES.map((e) => [e, loads.get(e)!.stats.retries])),
    uplinkLagMax: Object.fromEntries(EDGES.map((e) => [e, Math.max(...samples.map((s) => s.lag[e] ?? 0))])),
    uplinkLagLast: Object.fromEntries(EDGES.map((e) => [e, samples.at(-1)?.lag[e] ?? 0])),
    uplinkLag: Object.fromEntries(
      EDGES.map((e) => [
        e,
        {
          maxAfterWarmup: Math.max(0, ...steady.map((s) => s.lag[e] ?? 0)),
          slopePerMin: Number(slope(steady.map((s) => [s.t / 60_000, s.lag[e] ?? 0] as [number, number])).toFixed(1)),
        },
      ]),
    ),
    memory,
    lost,
    doubled,
    samples: samples.length,
    bounds: BOUNDS,
    judged: judged ? `slopes over ${steadyMinutes.toFixed(1)} min after a ${WARMUP_MS / 1000} s warm-up` : `not judged: ${steady.length} samples over ${steadyMinutes.toFixed(1)} min after the warm-up (needs ${JUDGED.samples} over ${JUDGED.minutes} min)`,
  };

  const failures: string[] = [];
  for (const edge of EDGES) {
    if (lost[edge]! > 0) failures.push(`edge ${edge}: ${lost[edge]} acked readings not in the cloud`);
    if (doubled[edge]! > 0) failures.push(`edge ${edge}: ${doubled[edge]} readings stored twice in the cloud`);
    const lag = result.uplinkLag[edge]!;
    if (lag.maxAfterWarmup > BOUNDS.uplinkLag) failures.push(`edge ${edge}: uplink lag reached ${lag.maxAfterWarmup} readings after the warm-up (bound ${BOUNDS.uplinkLag})`);
    if (judged && lag.slopePerMin > BOUNDS.uplinkLagSlopePerMin) failures.push(`edge ${edge}: uplink lag grew ${lag.slopePerMin} readings/min through the run (bound ${BOUNDS.uplinkLagSlopePerMin})`);
  }
  for (const p of processes) {
    const gone = samples.filter((s) => s.rss[p] === undefined).length;
    if (gone > 0) failures.push(`${p}: not running at ${gone} of ${samples.length} samples`);
    if (judged && memory[p]!.slopeMbPerMin > BOUNDS.memorySlopeMbPerMin) failures.push(`${p}: memory grew ${memory[p]!.slopeMbPerMin} MiB/min after the warm-up (bound ${BOUNDS.memorySlopeMbPerMin})`);
  }
  process.stdout.write(JSON.stringify({ ...result, failures }, null, 2) + "\n");
  if (values.out) writeFileSync(values.out, JSON.stringify({ ...result, failures, series: samples }, null, 2) + "\n");
  if (!judged) log(result.judged);
  for (const f of failures) log(`FAIL ${f}`);
  log(failures.length ? `${failures.length} bound(s) not held` : judged ? "every bound held" : "no bound broken (memory and lag slopes not judged: run too short)");
  process.exitCode = failures.length ? 1 : 0;
} finally {
  await system.cleanup();
}
