import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "../../log.ts";
import { startFleet, untilSignal, type Fleet } from "../../fleet.ts";
import { subjects } from "../../events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../../ids.ts";
import type { IngestReply } from "../../../edge-runtime/ingest/ingest.ts";
import { DIR_OPTION, dirOf, int, parse } from "../args.ts";
import { portsOf } from "./up.ts";

const USAGE = "tide demo [--edges N] [--duration S] [--dir D] [--ports standard|free] [--readings N]";

async function streamCount(nc: NatsConnection, domain: string, stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager({ domain });
  return (await jsm.streams.info(stream)).state.messages;
}

async function publishReadings(fleet: Fleet, perDevice: number) {
  const sent: Record<string, { ok: number; rejected: number }> = {};
  for (const [edge, services] of fleet.edges) {
    sent[edge] = { ok: 0, rejected: 0 };
    const base = Date.now() - perDevice * 1000;
    const replies: Promise<IngestReply>[] = [];
    for (let d = 1; d <= 3; d++) {
      const device = `sensor-${d}`;
      // sensor-3 warms past the cooling threshold, so the edge decides and commands.
      for (let i = 0; i < perDevice; i++) {
        const reading = { ts: new Date(base + i * 1000).toISOString(), seq: i, temperature: 21 + d + Math.sin(i / 5) + (d === 3 ? (i * 6) / perDevice : 0), humidity: 40 + d * 3 + Math.cos(i / 7) };
        replies.push(services.nc.request(subjects.ingest(edge, device), JSON.stringify(reading), { timeout: 5000 }).then((m) => m.json<IngestReply>()));
      }
    }
    // A faulty sensor: out-of-range value, and bytes that are not JSON. Both end in the edge's DLQ.
    replies.push(services.nc.request(subjects.ingest(edge, "faulty-1"), JSON.stringify({ temperature: 999, humidity: 50 }), { timeout: 5000 }).then((m) => m.json<IngestReply>()));
    replies.push(services.nc.request(subjects.ingest(edge, "faulty-1"), "t=21.5;h=40", { timeout: 5000 }).then((m) => m.json<IngestReply>()));
    for (const reply of await Promise.all(replies)) reply.ok ? sent[edge]!.ok++ : sent[edge]!.rejected++;
  }
  return sent;
}

/** Until the demo issue lands: `tide up` with a short smoke scenario that prints what it did (npm start). */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION, edges: { type: "string" }, duration: { type: "string" }, ports: { type: "string" }, readings: { type: "string" } }, USAGE);
  const edges = int(values.edges, "edges", { min: 1, max: 16 }) ?? 2;
  const duration = int(values.duration, "duration", { min: 0, max: 86_400 });
  const perDevice = int(values.readings, "readings", { min: 1, max: 100_000 }) ?? 20;
  const logger = createLogger({ level: process.env.TIDE_LOG_LEVEL ?? "warn" });
  const out = (line = "") => process.stdout.write(line + "\n");

  out(`Starting Tide: hub + ${edges} edge leaf node(s), streams, ingest, projections...`);
  const fleet = await startFleet({ dir: dirOf(values.dir), edges, ports: portsOf(values.ports), logger });
  try {
    const { file } = fleet.topology;
    out(`  hub ${file.hub.clientUrl} (domain cloud); ${file.edges.map((e) => `edge ${e.id} ${e.clientUrl} (domain ${e.domain})`).join("; ")}`);
    const before = await streamCount(fleet.cloud.nc, CLOUD_DOMAIN, "READINGS");
    out(`\n1. Devices publish ${perDevice} readings each from 3 sensors per edge, plus 2 bad payloads from a faulty sensor.`);
    const sent = await publishReadings(fleet, perDevice);
    for (const [edge, s] of Object.entries(sent)) out(`   edge ${edge}: ${s.ok} stored (acknowledged after storage), ${s.rejected} rejected`);

    out(`\n2. The cloud READINGS sources every edge's UPLINK across the leaf links.`);
    const expected = before + Object.values(sent).reduce((n, s) => n + s.ok, 0);
    const deadline = Date.now() + 30_000;
    let cloudCount = before;
    while ((cloudCount = await streamCount(fleet.cloud.nc, CLOUD_DOMAIN, "READINGS")) < expected && Date.now() < deadline) await sleep(100);
    out(`   cloud READINGS: ${cloudCount} message(s) (${cloudCount - before} new, ${expected - before} expected)`);

    out(`\n3. Per edge: its own streams (raw device subjects never cross to another edge).`);
    for (const [edge, services] of fleet.edges) {
      const domain = edgeDomain(edge);
      out(`   edge ${edge}: READINGS ${await streamCount(services.nc, domain, "READINGS")}, UPLINK ${await streamCount(services.nc, domain, "UPLINK")}, DLQ ${await streamCount(services.nc, domain, "DLQ")}`);
    }

    out(`\n4. Each edge inferred every reading (TensorFlow.js backend ${[...fleet.edges.values()][0]?.backend}) and decided its cooling actuator:`);
    for (const [edge, runtime] of fleet.edges) {
      const stored = sent[edge]!.ok;
      const started = Date.now();
      while (runtime.pipeline.stats.processed < stored && Date.now() - started < 15_000) await sleep(100);
      const { processed, decisions, offloaded, offloadUsed } = runtime.pipeline.stats;
      out(`   edge ${edge}: ${processed} inference(s) (model ${runtime.engine.activeVersion()}), ${decisions} decision(s), ${offloaded} offloaded to the cloud (${offloadUsed} answered); INFERENCES ${await streamCount(runtime.nc, edgeDomain(edge), "INFERENCES")}`);
    }

    await sleep(500);
    out(`\n5. Cloud projection 'devices' (latest reading per device, per edge):`);
    const rows = fleet.cloud.db.prepare("SELECT edge, device, readings, ts, temperature, humidity FROM devices ORDER BY edge, device").all() as Record<string, unknown>[];
    for (const r of rows) out(`   edge ${r.edge} ${String(r.device).padEnd(10)} ${String(r.readings).padStart(5)} readings, last ${r.ts}: ${Number(r.temperature).toFixed(2)} °C, ${Number(r.humidity).toFixed(1)} %`);

    out(`\nTry: tide replay READINGS --dir ${file.dir} | tide replay DLQ --edge 1 --json --dir ${file.dir} | tide project rebuild sensor_stats --dir ${file.dir}`);
    out(duration === undefined ? "Tide keeps running; Ctrl-C to stop." : `Stopping in ${duration} s.`);
    const why = await untilSignal(duration === undefined ? undefined : duration * 1000);
    out(`\nStopping (${why})...`);
    out(`Summary: ${cloudCount - before} reading(s) flowed edge -> cloud; ${Object.values(sent).reduce((n, s) => n + s.rejected, 0)} bad payload(s) dead-lettered; state kept in ${file.dir}.`);
  } finally {
    await fleet.stop();
  }
  return 0;
}
