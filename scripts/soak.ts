/**
 * `npm run soak [-- --minutes M --devices N --interval-ms MS --out FILE]`: a steady load on 2 edges
 * (`tide edge` processes) and the cloud (`tide cloud`) for M minutes (default 10). Every 10 s it samples
 * each process's RSS and the uplink lag (readings stored on the edge, not yet in the cloud); at the end it
 * checks that every acked reading is in the cloud exactly once, and reports the memory slope (least
 * squares over the samples after a 2-minute warm-up), the lag bound and what was lost.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readMessages } from "../src/store/read-stream.ts";
import { startDeviceLoad, type DeviceLoad } from "../test/faults/devices.ts";
import { givenFaultSystem } from "../test/faults/system.ts";

const { values } = parseArgs({
  options: { minutes: { type: "string", default: "10" }, devices: { type: "string", default: "5" }, "interval-ms": { type: "string", default: "40" }, out: { type: "string" } },
});
const minutes = Number(values.minutes);
const EDGES = ["1", "2"];
const SAMPLE_MS = 10_000;
const WARMUP_MS = Math.min(120_000, (minutes * 60_000) / 5);

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
      const [onEdge, inCloud] = await Promise.all([readingsIn(edgeNcs.get(edge)!, edgeDomain(edge), `tide.reading.${edge}.>`), readingsIn(hub, CLOUD_DOMAIN, `tide.reading.${edge}.>`)]);
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
    memory,
    lost,
    doubled,
    samples: samples.length,
  };
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  if (values.out) writeFileSync(values.out, JSON.stringify({ ...result, series: samples }, null, 2) + "\n");
  const failed = Object.values(lost).some((n) => n > 0) || Object.values(doubled).some((n) => n > 0);
  process.exitCode = failed ? 1 : 0;
} finally {
  await system.cleanup();
}
