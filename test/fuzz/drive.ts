import Database from "better-sqlite3";
import mqtt from "mqtt";
import { headers as natsHeaders, type NatsConnection } from "nats";
import type { IngestReply } from "../../edge-runtime/ingest/ingest.ts";
import { addDevice, deviceMqttOptions } from "../../src/devices/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../../src/ids.ts";
import { projectionCatalogue, runsOn, type ProjectionPlace } from "../../projections/index.ts";
import { eventually } from "../harness.ts";
import type { FaultSystem } from "../faults/system.ts";
import { createFuzz, type HttpRoute } from "./generate.ts";

/** The routes of the edge and cloud HTTP APIs that take input. */
export const EDGE_ROUTES: HttpRoute[] = [{ method: "POST", path: "/predict" }];
export const CLOUD_ROUTES: HttpRoute[] = [
  { method: "POST", path: "/train" },
  { method: "POST", path: "/tasks" },
  { method: "POST", path: "/rollouts" },
  { method: "GET", path: "/rollouts" },
  { method: "POST", path: "/rollouts/rollback" },
  { method: "GET", path: "/tasks", params: ["id"] },
  { method: "GET", path: "/utilisation", params: ["window"] },
  { method: "GET", path: "/training/runs", params: ["limit"] },
];

/**
 * Projections fuzz must leave as they were. The heartbeat-fed ones (nodes,
 * node_models, edge_activity) move with time whatever the fuzz does.
 */
const MOVES_WITH_TIME = new Set(["nodes", "node_models", "edge_activity"]);

export interface FuzzCounts {
  ingestNats: number;
  ingestMqtt: number;
  offload: number;
  http: number;
  /** Ingest replies by reason. */
  reasons: Record<string, number>;
  /** HTTP answers by status. */
  statuses: Record<string, number>;
  deadLettered: number;
  /** Every message that got something other than a clear rejection (should stay empty). */
  unclear: string[];
}

function projectionRows(path: string, place: ProjectionPlace): Record<string, string[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, string[]> = {};
    for (const p of projectionCatalogue.filter((x) => runsOn(x, place) && !MOVES_WITH_TIME.has(x.name))) {
      for (const table of p.tables) {
        const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
        out[`${p.name}.${table}`] = exists ? (db.prepare(`SELECT * FROM "${table}"`).all() as object[]).map((r) => JSON.stringify(r)).sort() : [];
      }
    }
    return out;
  } finally {
    db.close();
  }
}

async function streamState(nc: NatsConnection, domain: string, stream: string) {
  return (await (await nc.jetstreamManager({ domain })).streams.info(stream)).state;
}

/** Stored readings (`tide.reading.>`) in a domain's READINGS. */
async function readingsIn(nc: NatsConnection, domain: string): Promise<number> {
  const info = await (await nc.jetstreamManager({ domain })).streams.info("READINGS", { subjects_filter: "tide.reading.>" });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

/** Run `fn` over `n` items with at most `width` at once. */
async function pooled(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

const bump = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

export interface FuzzPlan {
  ingestNats: number;
  ingestMqtt: number;
  offload: number;
  http: number;
  seed?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fuzz a running system (one edge): malformed readings on the edge's NATS
 * ingest subjects and an MQTT device's topic, junk joint-inference requests,
 * malformed HTTP requests to every edge and cloud route. Returns what came
 * back; checks nothing itself except that every answer was a clear rejection
 * (collected in `unclear` otherwise). See `checkAfterFuzz` for the invariants.
 */
export async function runFuzz(system: FaultSystem, plan: FuzzPlan): Promise<FuzzCounts> {
  const edge = system.file.edges[0]!;
  const fuzz = createFuzz(plan.seed ?? "tide-fuzz");
  const edgeNc = await system.connect(edge.id);
  const hub = await system.connect(CLOUD_DOMAIN);
  const counts: FuzzCounts = { ingestNats: 0, ingestMqtt: 0, offload: 0, http: 0, reasons: {}, statuses: {}, deadLettered: 0, unclear: [] };
  const total = plan.ingestNats + plan.ingestMqtt + plan.offload + plan.http;
  let done = 0;
  const tick = () => {
    done++;
    if (done % 5000 === 0) plan.onProgress?.(done, total);
  };
  const unclear = (what: string) => {
    if (counts.unclear.length < 50) counts.unclear.push(what);
  };
  const decoder = new TextDecoder();

  // NATS ingest, request/reply: every answer must be ok:false with a reason and a message.
  await pooled(plan.ingestNats, 64, async () => {
    const c = fuzz.ingest();
    const h = c.headers ? natsHeaders() : undefined;
    for (const [k, v] of Object.entries(c.headers ?? {})) h!.set(k, v);
    try {
      const reply = JSON.parse(decoder.decode((await edgeNc.request(`tide.ingest.${edge.id}.${c.subjectTail}`, c.data, { timeout: 30_000, ...(h ? { headers: h } : {}) })).data)) as IngestReply;
      if (reply.ok || !reply.reason || !reply.message) unclear(`ingest ${c.kind}: ${JSON.stringify(reply)}`);
      else bump(counts.reasons, reply.reason);
    } catch (error) {
      unclear(`ingest ${c.kind}: ${(error as Error).message}`);
    }
    counts.ingestNats++;
    tick();
  });

  // MQTT, QoS 1, from a registered device on its own topic; the answer comes on its ack topic.
  if (plan.ingestMqtt > 0) {
    const device = "fuzz-mqtt";
    await addDevice(system.dir, edge.id, device);
    const { url, username, password } = deviceMqttOptions(system.file, edge.id, device);
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `fuzz-${Date.now()}`, username, password, reconnectPeriod: 1000 });
    const acks: IngestReply[] = [];
    client.on("message", (_topic, payload) => acks.push(JSON.parse(payload.toString()) as IngestReply));
    await client.subscribeAsync(`tide/ack/${edge.id}/${device}`, { qos: 1 });
    try {
      await pooled(plan.ingestMqtt, 32, async () => {
        const c = fuzz.mqtt();
        await client.publishAsync(`tide/ingest/${edge.id}/${device}`, Buffer.from(c.data), { qos: 1 });
        counts.ingestMqtt++;
        tick();
      });
      await eventually(() => acks.length, (n) => n >= plan.ingestMqtt, 120_000, `acks of ${plan.ingestMqtt} MQTT messages`);
      for (const a of acks) {
        if (a.ok || !a.reason || !a.message) unclear(`mqtt: ${JSON.stringify(a)}`);
        else bump(counts.reasons, a.reason);
      }
    } finally {
      await client.endAsync();
    }
  }

  // Junk joint-inference requests to the cloud responder.
  await pooled(plan.offload, 32, async () => {
    try {
      const reply = JSON.parse(decoder.decode((await hub.request("tide.offload.predict", fuzz.offload(), { timeout: 30_000 })).data)) as { ok: boolean; error?: string };
      if (reply.ok || !reply.error) unclear(`offload: ${JSON.stringify(reply)}`);
      else bump(counts.reasons, "offload_rejected");
    } catch (error) {
      unclear(`offload: ${(error as Error).message}`);
    }
    counts.offload++;
    tick();
  });

  // HTTP: every answer a 4xx with a JSON error.
  const targets = [
    { base: edge.httpUrl, routes: EDGE_ROUTES },
    { base: system.file.hub.httpUrl, routes: CLOUD_ROUTES },
  ];
  await pooled(plan.http, 16, async (i) => {
    const target = targets[i % 2]!;
    const c = fuzz.http(target.routes);
    try {
      const res = await fetch(`${target.base}${c.path}`, {
        method: c.method,
        ...(c.contentType ? { headers: { "content-type": c.contentType } } : {}),
        ...(c.body !== undefined ? { body: c.body } : {}),
      });
      const text = await res.text();
      bump(counts.statuses, String(res.status));
      let error: unknown;
      try {
        error = (JSON.parse(text) as { error?: unknown }).error;
      } catch {
        error = undefined;
      }
      if (res.status < 400 || res.status >= 500 || typeof error !== "string" || error.length === 0) unclear(`http ${c.kind} ${c.method} ${c.path}: ${res.status} ${text.slice(0, 200)}`);
    } catch (error) {
      unclear(`http ${c.kind} ${c.method} ${c.path}: ${(error as Error).message}`);
    }
    counts.http++;
    tick();
  });
  return counts;
}

/** What fuzzing must not change: stored readings, dead letters so far, the projections. */
export async function snapshotForFuzz(system: FaultSystem) {
  const edge = system.file.edges[0]!;
  const edgeNc = await system.connect(edge.id);
  const hub = await system.connect(CLOUD_DOMAIN);
  return {
    edgeReadings: (await streamState(edgeNc, edgeDomain(edge.id), "READINGS")).last_seq,
    // Readings only: the cloud READINGS also receives the edge's periodic distribution stats.
    cloudReadings: await readingsIn(hub, CLOUD_DOMAIN),
    edgeDlq: (await streamState(edgeNc, edgeDomain(edge.id), "DLQ")).messages,
    edgeProjections: projectionRows(system.edgeDbPath(edge.id), "edge"),
    cloudProjections: projectionRows(system.cloudDbPath(), "cloud"),
    pids: system.pids(),
  };
}
export type FuzzSnapshot = Awaited<ReturnType<typeof snapshotForFuzz>>;

/** After a fuzz run: how many dead letters it added (waits until ingest rejections are all stored). */
export async function deadLettersAdded(system: FaultSystem, before: FuzzSnapshot, expected: number): Promise<number> {
  const edge = system.file.edges[0]!;
  const edgeNc = await system.connect(edge.id);
  const now = await eventually(
    async () => (await streamState(edgeNc, edgeDomain(edge.id), "DLQ")).messages,
    (n) => n - before.edgeDlq >= expected,
    60_000,
    `${expected} dead letters`,
  );
  return now - before.edgeDlq;
}

