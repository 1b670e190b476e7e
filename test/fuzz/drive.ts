import Database from "better-sqlite3";
import mqtt, { type MqttClient } from "mqtt";
import { headers as natsHeaders, type NatsConnection } from "nats";
import type { IngestReply } from "../../edge-runtime/ingest/ingest.ts";
import { addDevice, deviceMqttOptions } from "../../src/devices/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../../src/ids.ts";
import { projectionCatalogue, runsOn, type ProjectionPlace } from "../../projections/index.ts";
import { eventually } from "../harness.ts";
import type { FaultSystem } from "../faults/system.ts";
import { createFuzz, type HttpRoute, type MqttTopicCase } from "./generate.ts";
import { CLOUD_READ_ROUTES, EDGE_READ_ROUTES, sendReadCase, type ReadAnswer } from "./http-read.ts";

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
  /** Good readings on topics their device may not use. */
  mqttTopics: number;
  offload: number;
  http: number;
  /** Requests to the read-only routes (dashboard, models, metrics, health). */
  httpRead: number;
  /** Ingest replies by reason. */
  reasons: Record<string, number>;
  /** HTTP answers by status. */
  statuses: Record<string, number>;
  /** Junk-topic publishes by outcome: `puback` (dropped), `closed` (connection closed by the server). */
  topicOutcomes: Record<string, number>;
  /** Read-only route answers by status (`closed`: dropped by the HTTP parser). */
  readStatuses: Record<string, number>;
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
  mqttTopics: number;
  offload: number;
  http: number;
  httpRead: number;
  seed?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fuzz a running system (one edge): malformed readings on the edge's NATS
 * ingest subjects and an MQTT device's topic, good readings on topics that
 * device may not use, junk joint-inference requests, malformed HTTP requests
 * to every edge and cloud route (junk queries, methods and bodies on the
 * read-only ones, server-sent events opened and dropped). Returns what came
 * back; checks nothing itself except that every answer was a clear rejection
 * (collected in `unclear` otherwise). See `checkAfterFuzz` for the invariants.
 */
export async function runFuzz(system: FaultSystem, plan: FuzzPlan): Promise<FuzzCounts> {
  const edge = system.file.edges[0]!;
  const fuzz = createFuzz(plan.seed ?? "tide-fuzz");
  const edgeNc = await system.connect(edge.id);
  const hub = await system.connect(CLOUD_DOMAIN);
  const counts: FuzzCounts = { ingestNats: 0, ingestMqtt: 0, mqttTopics: 0, offload: 0, http: 0, httpRead: 0, reasons: {}, statuses: {}, topicOutcomes: {}, readStatuses: {}, deadLettered: 0, unclear: [] };
  const total = plan.ingestNats + plan.ingestMqtt + plan.mqttTopics + plan.offload + plan.http + plan.httpRead;
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

  // MQTT from a registered device. First good readings on topics it may not use (nothing may reach ingest,
  // so no ack may come), then malformed readings on its own topic, QoS 1, each answered on its ack topic.
  if (plan.ingestMqtt > 0 || plan.mqttTopics > 0) {
    const device = "fuzz-mqtt";
    await addDevice(system.dir, edge.id, device);
    const { url, username, password } = deviceMqttOptions(system.file, edge.id, device);
    const connectDevice = (reconnectPeriod: number) => mqtt.connectAsync(url, { protocolVersion: 4, clientId: `fuzz-${Date.now()}-${Math.random()}`, username, password, reconnectPeriod });
    const client = await connectDevice(1000);
    const acks: IngestReply[] = [];
    client.on("message", (_topic, payload) => acks.push(JSON.parse(payload.toString()) as IngestReply));
    await client.subscribeAsync(`tide/ack/${edge.id}/${device}`, { qos: 1 });
    try {
      await pooled(plan.mqttTopics, 8, async () => {
        const c = fuzz.mqttTopic(edge.id, device);
        const outcome = c.closes ? await publishClosing(connectDevice, c, `tide/ack/${edge.id}/${device}`) : await publishDropped(client, c);
        bump(counts.topicOutcomes, outcome);
        if (outcome === "unanswered") unclear(`mqtt topic ${c.kind} ${JSON.stringify(c.topic.slice(0, 80))}: neither PUBACK nor close`);
        counts.mqttTopics++;
        tick();
      });
      await pooled(plan.ingestMqtt, 32, async () => {
        const c = fuzz.mqtt();
        await client.publishAsync(`tide/ingest/${edge.id}/${device}`, Buffer.from(c.data), { qos: 1 });
        counts.ingestMqtt++;
        tick();
      });
      await eventually(() => acks.length, (n) => n >= plan.ingestMqtt, 120_000, `acks of ${plan.ingestMqtt} MQTT messages`);
      // An ack more than the malformed readings sent: a junk topic reached ingest.
      if (acks.length > plan.ingestMqtt) unclear(`mqtt: ${acks.length} acks for ${plan.ingestMqtt} readings on the device's own topic`);
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

  // The read-only routes: junk query strings, bodies and methods; the event stream opened and dropped.
  const readTargets: { base: string; routes: Record<string, ReadAnswer> }[] = [
    { base: edge.httpUrl, routes: EDGE_READ_ROUTES },
    { base: system.file.hub.httpUrl, routes: CLOUD_READ_ROUTES },
  ];
  await pooled(plan.httpRead, 8, async (i) => {
    // Cloud routes three times out of four: it has six of the eight.
    const target = readTargets[i % 4 === 0 ? 0 : 1]!;
    const c = fuzz.read(Object.keys(target.routes));
    const outcome = await sendReadCase(target.base, target.routes[c.route]!, c);
    bump(counts.readStatuses, String(outcome.status));
    if (outcome.problem) unclear(`http read ${c.kind} ${c.method} ${c.path.slice(0, 80)}: ${outcome.problem}`);
    counts.httpRead++;
    tick();
  });
  return counts;
}

/** QoS 1 on the open connection: nats-server PUBACKs a forbidden topic and drops the message. */
async function publishDropped(client: MqttClient, c: MqttTopicCase): Promise<"puback" | "unanswered"> {
  const answered = client.publishAsync(c.topic, Buffer.from(c.data), { qos: 1 }).then(
    () => "puback" as const,
    () => "unanswered" as const,
  );
  return Promise.race([answered, new Promise<"unanswered">((resolve) => setTimeout(() => resolve("unanswered"), 10_000).unref())]);
}

/** A topic that is no valid subject: the server closes the connection, so each gets a connection of its own (QoS 0). */
async function publishClosing(connectDevice: (reconnectPeriod: number) => Promise<MqttClient>, c: MqttTopicCase, ackTopic: string): Promise<"closed" | "open"> {
  const client = await connectDevice(0);
  try {
    const closed = new Promise<"closed">((resolve) => client.once("close", () => resolve("closed")));
    client.publish(c.topic, Buffer.from(c.data), { qos: 0 }, () => undefined);
    // Still open after a round trip (a subscribe answered) means the server took it and dropped it.
    const roundTrip = client.subscribeAsync(ackTopic, { qos: 0 }).then(
      () => new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 500).unref()),
      () => "closed" as const,
    );
    return await Promise.race([closed, roundTrip]);
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
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

