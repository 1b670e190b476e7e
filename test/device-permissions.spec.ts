import mqtt, { type MqttClient } from "mqtt";
import { AckPolicy, connect, type JetStreamManager, type Msg, type NatsConnection } from "nats";
import { readFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { connect as connectTls } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { addDevice, connectAsDevice, connectAsGateway, deviceMqttOptions } from "../src/devices/index.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { certificatePaths } from "../src/topology/certs.ts";
import { connectTo, readCredentials } from "../src/topology/index.ts";
import { eventually, givenFleet, streamMessages } from "./harness.ts";

type Given = Awaited<ReturnType<typeof givenFleet>>;

let given: Given;
const opened: NatsConnection[] = [];
const mqttClients: MqttClient[] = [];
const encoder = new TextEncoder();

beforeAll(async () => {
  given = await givenFleet({ edges: 2 });
  // Added while the edges run: the servers reload their users.
  for (const device of ["dev-a", "dev-b"]) await addDevice(given.dir, "1", device);
  await addDevice(given.dir, "2", "dev-c");
});

afterAll(async () => {
  await Promise.all(mqttClients.map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
  await given?.cleanup();
});

async function device(edge: string, id: string): Promise<NatsConnection> {
  const nc = await connectAsDevice(given.fleet.topology.file, edge, id, { maxReconnectAttempts: 0 });
  opened.push(nc);
  return nc;
}

async function mqttDevice(edge: string, id: string): Promise<MqttClient> {
  const { url, username, password } = deviceMqttOptions(given.fleet.topology.file, edge, id);
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: `perm-${edge}-${id}`, username, password, reconnectPeriod: 0 });
  mqttClients.push(client);
  return client;
}

const reading = () => encoder.encode(JSON.stringify({ ts: new Date().toISOString(), temperature: 21, humidity: 45 }));

/** Readings stored on `edge` for `device`. */
async function readingsOf(nc: NatsConnection, edge: string, deviceId: string): Promise<number> {
  const jsm = await nc.jetstreamManager({ domain: edgeDomain(edge) });
  const info = await jsm.streams.info("READINGS", { subjects_filter: `tide.reading.${edge}.${deviceId}.>` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

/** Permission errors the server sent to `nc`, as `operation subject`. */
function permissionErrors(nc: NatsConnection): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (ctx) seen.push(`${ctx.operation} ${ctx.subject}`);
    }
  })();
  return seen;
}

describe("device identity", () => {
  it("a device stores its own readings over NATS request/reply and receives its own commands", async () => {
    const a = await device("1", "dev-a");
    const reply = (await a.request(subjects.ingest("1", "dev-a"), reading(), { timeout: 10_000 })).json<IngestReply>();
    expect(reply).toMatchObject({ ok: true });

    const commands: Msg[] = [];
    a.subscribe(subjects.command("1", "dev-a"), { callback: (_e, m) => void commands.push(m) });
    await a.flush();
    const edge = await given.connect("1");
    await eventually(
      async () => {
        edge.publish(subjects.command("1", "dev-a"), encoder.encode("{}"));
        await edge.flush();
        return commands.length;
      },
      (n) => n > 0,
      10_000,
      "own command received",
    );
  });

  it("device A cannot publish as device B: refused by the server, nothing stored for B", async () => {
    const a = await device("1", "dev-a");
    const edge = await given.connect("1");
    const before = await readingsOf(edge, "1", "dev-b");
    await expect(a.request(subjects.ingest("1", "dev-b"), reading(), { timeout: 5_000 })).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
    const errors = permissionErrors(a);
    a.publish(subjects.ingest("1", "dev-b"), reading());
    a.publish(subjects.reading("1", "dev-b", "up"), reading());
    await eventually(() => errors.length, (n) => n >= 2, 10_000, "two publish violations");
    expect(errors).toEqual([`publish ${subjects.ingest("1", "dev-b")}`, `publish ${subjects.reading("1", "dev-b", "up")}`]);
    // B itself can: the refusal was A's identity, not the subject.
    const b = await device("1", "dev-b");
    expect((await b.request(subjects.ingest("1", "dev-b"), reading(), { timeout: 10_000 })).json<IngestReply>()).toMatchObject({ ok: true });
    expect(await readingsOf(edge, "1", "dev-b")).toBe(before + 1);
  });

  it("device A cannot read device B's commands or acks, nor listen to the edge's traffic", async () => {
    const a = await device("1", "dev-a");
    const b = await device("1", "dev-b");
    const errors = permissionErrors(a);
    const stolen: Msg[] = [];
    for (const subject of [subjects.command("1", "dev-b"), subjects.command("1", "*"), `tide.ack.1.dev-b`, "tide.>", ">", "_INBOX.>"]) {
      a.subscribe(subject, { callback: (error, m) => void (error ? undefined : stolen.push(m)) });
    }
    await eventually(() => errors.length, (n) => n >= 6, 10_000, "six subscription violations");
    const received: Msg[] = [];
    b.subscribe(subjects.command("1", "dev-b"), { callback: (_e, m) => void received.push(m) });
    await b.flush();
    const edge = await given.connect("1");
    await eventually(
      async () => {
        edge.publish(subjects.command("1", "dev-b"), encoder.encode("{}"));
        edge.publish("tide.ack.1.dev-b", encoder.encode("{}"));
        await edge.flush();
        return received.length;
      },
      (n) => n >= 2,
      10_000,
      "B receives its commands",
    );
    await a.flush();
    expect(stolen).toEqual([]);
  });

  it("a device cannot touch the JetStream API: no stream info, purge or delete, locally or in another domain", async () => {
    const a = await device("1", "dev-a");
    const edge = await given.connect("1");
    const before = await streamMessages(edge, edgeDomain("1"), "READINGS");
    for (const subject of ["$JS.API.INFO", "$JS.API.STREAM.PURGE.READINGS", "$JS.API.STREAM.DELETE.READINGS", "$KV.x.y"]) {
      await expect(a.request(subject, encoder.encode("{}"), { timeout: 5_000 }), subject).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
    }
    // Domain-prefixed API subjects are mapped by the server before the check, so the violation names
    // another subject and the client sees no answer at all: refused either way (the stream is intact below).
    for (const subject of ["$JS.edge-1.API.STREAM.DELETE.READINGS", "$JS.cloud.API.STREAM.DELETE.READINGS"]) {
      await expect(a.request(subject, encoder.encode("{}"), { timeout: 3_000 }), subject).rejects.toMatchObject({ code: expect.stringMatching(/^(PERMISSIONS_VIOLATION|TIMEOUT)$/) });
    }
    await expect(a.jetstreamManager({ timeout: 5_000 })).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
    expect(await streamMessages(edge, edgeDomain("1"), "READINGS")).toBe(before);
  });

  it("needs its own inbox prefix for request/reply, and its credentials work on its own edge only", async () => {
    const topology = given.fleet.topology.file;
    const own = readCredentials(topology.credentialsPath).devices["1"]!["dev-a"]!;
    const noPrefix = await connect({ servers: topology.edges[0]!.clientUrl, user: own.user, pass: own.password, maxReconnectAttempts: 0 });
    opened.push(noPrefix);
    await expect(noPrefix.request(subjects.ingest("1", "dev-a"), reading(), { timeout: 5_000 })).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
    // Edge 2 does not know edge 1's devices, and no server accepts a wrong password or no credentials.
    await expect(connect({ servers: topology.edges[1]!.clientUrl, user: own.user, pass: own.password, reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
    await expect(connect({ servers: topology.edges[0]!.clientUrl, user: own.user, pass: "wrong", reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
    // The MQTT user is for MQTT only (it holds $MQTT.sub.>), the hub's leaf users for leaf links only.
    await expect(connect({ servers: topology.edges[0]!.clientUrl, user: `mqtt-1-dev-a`, pass: own.password, reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
    const leaf = readCredentials(topology.credentialsPath).edges["1"]!.leaf;
    await expect(connect({ servers: topology.hub.clientUrl, user: leaf.user, pass: leaf.password, reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
  });

  it("the device gateway (simulator, tide publish) has device rights for its own edge and no JetStream API", async () => {
    const gateway = await connectAsGateway(given.fleet.topology.file, "1", { maxReconnectAttempts: 0 });
    opened.push(gateway);
    expect((await gateway.request(subjects.ingest("1", "sim-9"), reading(), { timeout: 10_000 })).json<IngestReply>()).toMatchObject({ ok: true });
    await expect(gateway.request(subjects.ingest("2", "sim-9"), reading(), { timeout: 5_000 })).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
    await expect(gateway.request("$JS.API.STREAM.DELETE.READINGS", encoder.encode("{}"), { timeout: 5_000 })).rejects.toMatchObject({ code: "PERMISSIONS_VIOLATION" });
  });
});

describe("MQTT device identity", () => {
  it("an MQTT device stores its own readings and is acked on its own topic; B's topics are refused to A", async () => {
    const a = await mqttDevice("1", "dev-a");
    const edge = await given.connect("1");
    const acks: string[] = [];
    a.on("message", (topic) => void acks.push(topic));
    await a.subscribeAsync("tide/ack/1/dev-a", { qos: 1 });
    await expect(a.subscribeAsync("tide/command/1/dev-b", { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const b = await mqttDevice("1", "dev-b");
    await expect(b.subscribeAsync("tide/ack/1/dev-a", { qos: 0 })).rejects.toThrow(/Subscribe error/);

    const bBefore = await readingsOf(edge, "1", "dev-b");
    const aBefore = await readingsOf(edge, "1", "dev-a");
    // QoS 1: the server PUBACKs a forbidden publish too, but does not deliver it (DESIGN §9).
    await a.publishAsync("tide/ingest/1/dev-b", JSON.stringify({ seq: 1, temperature: 22, humidity: 40 }), { qos: 1 });
    await a.publishAsync("tide/ingest/1/dev-a", JSON.stringify({ seq: 1, temperature: 22, humidity: 40 }), { qos: 1 });
    await eventually(() => acks.length, (n) => n >= 1, 15_000, "ack of A's own reading");
    expect(await readingsOf(edge, "1", "dev-a")).toBe(aBefore + 1);
    expect(await readingsOf(edge, "1", "dev-b")).toBe(bBefore);
    expect(acks).toEqual(["tide/ack/1/dev-a"]);
  });

  it("refuses an MQTT connection with a wrong password or with the device's NATS user", async () => {
    const { url, password } = deviceMqttOptions(given.fleet.topology.file, "1", "dev-a");
    await expect(mqtt.connectAsync(url, { protocolVersion: 4, username: "mqtt-1-dev-a", password: "wrong", reconnectPeriod: 0 })).rejects.toThrow();
    await expect(mqtt.connectAsync(url, { protocolVersion: 4, username: "device-1-dev-a", password, reconnectPeriod: 0 })).rejects.toThrow();
  });
});

describe("edge isolation at the hub", () => {
  it("an edge cannot read, write or delete another edge's streams, nor administer the cloud's, through its leaf link", async () => {
    const edge1 = await given.connect("1");
    const edge2 = await given.connect("2");
    const cloud = await given.connect(CLOUD_DOMAIN);
    const before = await streamMessages(edge2, edgeDomain("2"), "READINGS");
    // Control: the hub reaches edge 2's JetStream API, and edge 1 reaches the cloud's, across the leaf links.
    expect((await (await cloud.jetstreamManager({ domain: edgeDomain("2") })).streams.info("READINGS")).config.name).toBe("READINGS");
    expect((await (await edge1.jetstreamManager({ domain: CLOUD_DOMAIN })).streams.info("READINGS")).config.name).toBe("READINGS");

    const api2 = `$JS.${edgeDomain("2")}.API`;
    for (const subject of [`${api2}.INFO`, `${api2}.STREAM.INFO.READINGS`, `${api2}.STREAM.PURGE.READINGS`, `${api2}.STREAM.DELETE.READINGS`]) {
      // The hub drops what edge 1's leaf user may not publish: nobody answers.
      await expect(edge1.request(subject, encoder.encode("{}"), { timeout: 3_000 }), subject).rejects.toMatchObject({ code: expect.stringMatching(/TIMEOUT|503/) });
    }
    const js2 = edge1.jetstream({ domain: edgeDomain("2"), timeout: 3_000 });
    await expect(js2.publish("tide.reading.2.forged.up", reading())).rejects.toBeDefined();
    // Nor can it forge what edge 2's UPLINK sources into the cloud READINGS.
    edge1.publish(`deliver.${edgeDomain("2")}.uplink.forged`, reading());
    for (const op of ["DELETE", "PURGE", "UPDATE"]) {
      await expect(edge1.request(`$JS.cloud.API.STREAM.${op}.READINGS`, encoder.encode("{}"), { timeout: 3_000 }), op).rejects.toMatchObject({
        code: expect.stringMatching(/TIMEOUT|503/),
      });
    }
    await edge1.flush();
    expect(await streamMessages(edge2, edgeDomain("2"), "READINGS")).toBe(before);
    expect((await (await cloud.jetstreamManager()).streams.info("READINGS")).config.name).toBe("READINGS");
  });
});

/** Messages stored in any stream of `domain` whose body contains `marker`, as `STREAM subject`. */
/** Whether stream `name` still exists after watching for `watchMs` whether it goes away (a delete is asynchronous). */
async function stillThere(jsm: JetStreamManager, name: string, watchMs: number): Promise<boolean> {
  const names = async () => {
    const found: string[] = [];
    for await (const stream of jsm.streams.names()) found.push(stream);
    return found;
  };
  await eventually(names, (found) => !found.includes(name), watchMs, `stream ${name} deleted`).catch(() => undefined);
  return (await names()).includes(name);
}

async function storedWith(nc: NatsConnection, domain: string, marker: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager({ domain });
  const js = nc.jetstream({ domain });
  const found: string[] = [];
  for await (const name of jsm.streams.names()) {
    const { state } = await jsm.streams.info(name);
    if (state.messages === 0) continue;
    const messages = await (await js.consumers.get(name)).fetch({ max_messages: state.messages, expires: 5_000 });
    for await (const m of messages) {
      if (m.string().includes(marker)) found.push(`${name} ${m.subject}`);
      if (m.info.pending === 0) break;
    }
  }
  return found;
}

// A compromised edge runtime holds its edge's service user: everything on its own server. What reaches the
// hub is what the hub gave that edge's leaf link (src/topology/auth.ts), which the edge's server enforces:
// anything else is never forwarded, so a request is answered "no responders" (503) and nothing is stored.
describe("a hostile edge (edge 1's runtime, with its service user on its own server)", () => {
  const refused = { code: expect.stringMatching(/^(503|TIMEOUT)$/) };

  it("cannot append to cloud streams as another edge or the cloud, write the models bucket, nor touch edge 2's streams", async () => {
    const hostile = await given.connect("1");
    const cloud = await given.connect(CLOUD_DOMAIN);
    const edge2 = await given.connect("2");
    const marker = `forged-by-edge-1-${Date.now()}`;
    const forged = encoder.encode(JSON.stringify({ marker }));
    const cloudJs = hostile.jetstream({ domain: CLOUD_DOMAIN, timeout: 3_000 });

    // Its own runtime's heartbeats do reach the cloud NODES across the same link.
    await eventually(
      async () => Object.keys((await (await cloud.jetstreamManager()).streams.info("NODES", { subjects_filter: subjects.node(edgeDomain("1")) })).state.subjects ?? {}).length,
      (n) => n > 0,
      20_000,
      "edge 1's own heartbeat in the cloud",
    );
    // Heartbeats as edge 2, and the cloud's own families (models, rollouts, training, dead letters).
    for (const subject of [subjects.node(edgeDomain("2")), subjects.model("v999"), subjects.rollout("forged"), subjects.training("forged"), subjects.deadLetter(CLOUD_DOMAIN, "forged")]) {
      await expect(cloudJs.publish(subject, forged), subject).rejects.toMatchObject(refused);
    }
    // The Object Store bucket of model artifacts (chunks and metadata are $O.models.> messages).
    const models = await cloudJs.views.os("models");
    await expect(models.putBlob({ name: "forged" }, forged), "models bucket").rejects.toBeDefined();
    // Edge 2's streams: its JetStream API, and its subjects through the hub.
    const edge2Js = hostile.jetstream({ domain: edgeDomain("2"), timeout: 3_000 });
    await expect(edge2Js.publish(subjects.reading("2", "forged", "up"), forged)).rejects.toBeDefined();
    await expect(hostile.request(`$JS.${edgeDomain("2")}.API.STREAM.PURGE.READINGS`, encoder.encode("{}"), { timeout: 3_000 })).rejects.toMatchObject(refused);
    hostile.publish(subjects.reading("2", "forged", "up"), forged);
    hostile.publish(subjects.ingest("2", "forged"), forged);
    await hostile.flush();

    expect(await storedWith(cloud, CLOUD_DOMAIN, marker)).toEqual([]);
    expect(await storedWith(edge2, edgeDomain("2"), marker)).toEqual([]);
  });

  it("cannot delete, purge, change or create cloud streams, delete their messages, nor delete a cloud consumer", async () => {
    const hostile = await given.connect("1");
    const cloud = await given.connect(CLOUD_DOMAIN);
    const cloudJsm = await cloud.jetstreamManager();
    await cloudJsm.consumers.add("TASKS", { durable_name: "victim", ack_policy: AckPolicy.None });
    try {
      const readingsBefore = (await cloudJsm.streams.info("READINGS")).state;
      const nodesFirst = (await cloudJsm.streams.info("NODES")).state.first_seq;
      const jsm = await hostile.jetstreamManager({ domain: CLOUD_DOMAIN, timeout: 3_000 });
      // Reading is allowed (the rollout agent and the task worker read cloud streams)...
      expect((await jsm.streams.info("TASKS")).config.name).toBe("TASKS");
      // ...administering is not.
      await expect(jsm.consumers.delete("TASKS", "victim"), "consumer delete").rejects.toMatchObject(refused);
      await expect(jsm.streams.delete("DLQ"), "stream delete").rejects.toMatchObject(refused);
      await expect(jsm.streams.purge("READINGS"), "purge").rejects.toMatchObject(refused);
      await expect(jsm.streams.deleteMessage("NODES", nodesFirst), "message delete").rejects.toMatchObject(refused);
      await expect(jsm.streams.update("NODES", { max_msgs: 1 }), "update").rejects.toMatchObject(refused);
      await expect(jsm.streams.add({ name: "FORGED", subjects: ["forged.>"] }), "create").rejects.toMatchObject(refused);

      expect((await cloudJsm.consumers.info("TASKS", "victim")).name).toBe("victim");
      expect((await cloudJsm.streams.info("DLQ")).config.name).toBe("DLQ");
      expect((await cloudJsm.streams.info("READINGS")).state.first_seq).toBe(readingsBefore.first_seq);
      expect((await cloudJsm.streams.info("NODES")).config.max_msgs).not.toBe(1);
      expect((await cloudJsm.streams.getMessage("NODES", { seq: nodesFirst })).seq).toBe(nodesFirst);
      await expect(cloudJsm.streams.info("FORGED")).rejects.toThrow(/stream not found/);
    } finally {
      await cloudJsm.consumers.delete("TASKS", "victim").catch(() => undefined);
    }
  });

  // Whoever creates a push consumer picks where it delivers, and the cloud's JetStream then publishes there in the
  // cloud account (a confused deputy). So an edge creates no consumer on a cloud stream: it reads them through
  // message gets (src/store/read-by-gets.ts), and its account has no consumer API at all.
  it("cannot create a consumer on a cloud stream, so cannot choose where the cloud's JetStream delivers", async () => {
    const hostile = await given.connect("1");
    const cloud = await given.connect(CLOUD_DOMAIN);
    const cloudJsm = await cloud.jetstreamManager();
    const stamp = Date.now();
    const [source, victim] = [`SOURCE_${stamp}`, `VICTIM_${stamp}`];
    const marker = `deputy-${stamp}`;
    await cloudJsm.streams.add({ name: source, subjects: [`scratch.${source}`] });
    await cloudJsm.streams.add({ name: victim, subjects: [`scratch.${victim}`] });
    try {
      for (let i = 0; i < 3; i++) await cloud.jetstream().publish(`scratch.${source}`, encoder.encode(JSON.stringify({ marker })));
      const jsm = await hostile.jetstreamManager({ domain: CLOUD_DOMAIN, timeout: 3_000 });
      const targets = [subjects.node(edgeDomain("2")), `$JS.API.STREAM.DELETE.${victim}`, `$JS.${edgeDomain("2")}.API.STREAM.DELETE.DLQ`];
      for (const deliver of targets) {
        await expect(jsm.consumers.add(source, { deliver_subject: deliver, ack_policy: AckPolicy.None }), deliver).rejects.toMatchObject(refused);
      }
      for (const stream of ["TASKS", source]) {
        await expect(jsm.consumers.add(stream, { durable_name: "hostile", ack_policy: AckPolicy.None }), `durable on ${stream}`).rejects.toMatchObject(refused);
      }
      // Nor through the request nats.js would not make: the named form of the create.
      await expect(hostile.request(`$JS.${CLOUD_DOMAIN}.API.CONSUMER.CREATE.${source}.x.scratch.${source}`, encoder.encode(JSON.stringify({ stream_name: source, config: { name: "x", deliver_subject: targets[0] } })), { timeout: 3_000 })).rejects.toMatchObject(refused);

      expect((await cloudJsm.consumers.list(source).next()).length).toBe(0);
      expect(await stillThere(cloudJsm, victim, 1_000)).toBe(true);
      expect((await (await cloud.jetstreamManager({ domain: edgeDomain("2") })).streams.info("DLQ")).config.name).toBe("DLQ");
      expect((await storedWith(cloud, CLOUD_DOMAIN, marker)).filter((where) => !where.startsWith(`${source} `))).toEqual([]);
    } finally {
      await cloudJsm.streams.delete(source).catch(() => undefined);
      await cloudJsm.streams.delete(victim).catch(() => undefined);
    }
  });

  it("receives nothing meant for edge 2 or for a cloud client, even subscribed to everything", async () => {
    const hostile = await given.connect("1");
    const edge2 = await given.connect("2");
    // A cloud client whose replies are easy to recognise.
    const probe = await connectTo(given.fleet.topology.file, CLOUD_DOMAIN, { inboxPrefix: "_INBOX.probe" });
    opened.push(probe);
    const seen: string[] = [];
    for (const subject of ["_INBOX.>", "tide.>", "deliver.>", `$JS.${edgeDomain("2")}.API.>`]) {
      hostile.subscribe(subject, { callback: (error, m) => void (error ? undefined : seen.push(m.subject)) });
    }
    await hostile.flush();
    // Edge 2 asks the cloud, the cloud asks edge 2: both kinds of reply cross the hub.
    const cloudFrom2 = await edge2.jetstreamManager({ domain: CLOUD_DOMAIN });
    const edge2FromCloud = await probe.jetstreamManager({ domain: edgeDomain("2") });
    for (let i = 0; i < 5; i++) {
      await cloudFrom2.streams.info("TASKS");
      await edge2FromCloud.streams.info("READINGS");
    }
    // Edge 1's own reply comes over the same link after everything above: once seen, the rest has arrived.
    await (await hostile.jetstreamManager({ domain: CLOUD_DOMAIN })).streams.info("TASKS");
    await eventually(() => seen.filter((s) => s.startsWith(`_INBOX.${edgeDomain("1")}.`)).length, (n) => n > 0, 10_000, "edge 1's own cloud reply");
    expect(seen.filter((s) => s.startsWith("_INBOX.probe.") || s.includes(edgeDomain("2")))).toEqual([]);
  });
});

/** A hand-written leaf connection to the hub (INFO, TLS, CONNECT): what an edge host could open with its own credentials. */
async function rawLeafConnection(options: { host: string; port: number; user: string; pass: string; cert: string; key: string; ca: string }) {
  const socket = connectTcp(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("data", () => resolve());
  });
  const tls = connectTls({ socket, host: options.host, cert: readFileSync(options.cert), key: readFileSync(options.key), ca: readFileSync(options.ca) });
  await new Promise<void>((resolve, reject) => {
    tls.once("secureConnect", () => resolve());
    tls.once("error", reject);
  });
  let pending = "";
  let pongs = 0;
  tls.on("data", (chunk: Buffer) => {
    pending += chunk.toString("latin1");
    for (let end = pending.indexOf("\r\n"); end >= 0; end = pending.indexOf("\r\n")) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (line === "PING") tls.write("PONG\r\n");
      if (line === "PONG") pongs++;
    }
  });
  const connectInfo = { user: options.user, pass: options.pass, tls_required: true, name: "hand-written-leaf", headers: true };
  tls.write(`CONNECT ${JSON.stringify(connectInfo)}\r\nPING\r\n`);
  await eventually(() => pongs, (n) => n > 0, 10_000, "the hub's PONG");
  return {
    /** An LMSG (a message from the leaf side), then a PING whose PONG says the hub has read it. */
    async publish(subject: string, body: string, reply?: string): Promise<void> {
      const seen = pongs;
      tls.write(`LMSG ${subject}${reply ? ` ${reply}` : ""} ${Buffer.byteLength(body)}\r\n${body}\r\nPING\r\n`);
      await eventually(() => pongs, (n) => n > seen, 10_000, "the hub's PONG");
    },
    close: () => tls.destroy(),
  };
}

describe("a hostile edge host (edge 1's leaf user and certificate, speaking the leaf protocol itself)", () => {
  // nats-server 2.9.10 does not check what arrives over a leaf connection against the leaf user's publish rights
  // (it tells a stock edge server its rights, which that server enforces). The hub's accounts are the boundary
  // instead: the link lands in edge 1's own account, which reaches only what it imports (src/topology/auth.ts).
  const hostileLeaf = () => {
    const topology = given.fleet.topology.file;
    const certs = certificatePaths(topology.dir);
    const leaf = readCredentials(topology.credentialsPath).edges["1"]!.leaf;
    return rawLeafConnection({ host: topology.host, port: topology.hub.leafPort, user: leaf.user, pass: leaf.password, ...certs.edge("1"), ca: certs.ca });
  };

  it("cannot store a heartbeat as edge 2, nor write the cloud's own families", async () => {
    const cloud = await given.connect(CLOUD_DOMAIN);
    const connection = await hostileLeaf();
    const marker = `hand-written-leaf-${Date.now()}`;
    try {
      for (const subject of [subjects.node(edgeDomain("2")), subjects.model("v999"), subjects.rollout("forged"), subjects.deadLetter(CLOUD_DOMAIN, "forged")]) {
        await connection.publish(subject, JSON.stringify({ marker }), `_INBOX.${edgeDomain("1")}.hostile`);
      }
      // Control: what edge 1's account does import gets through this very connection (its own heartbeat subject).
      await connection.publish(subjects.node(edgeDomain("1")), JSON.stringify({ marker, control: true }), `_INBOX.${edgeDomain("1")}.hostile`);
    } finally {
      connection.close();
    }
    expect(await eventually(() => storedWith(cloud, CLOUD_DOMAIN, marker), (found) => found.length > 0, 10_000, "the control message")).toEqual([`NODES ${subjects.node(edgeDomain("1"))}`]);
  });

  it("cannot delete a cloud stream, nor one of edge 2's, nor create a consumer on a cloud stream", async () => {
    const cloud = await given.connect(CLOUD_DOMAIN);
    const jsm = await cloud.jetstreamManager();
    const edge2Jsm = await cloud.jetstreamManager({ domain: edgeDomain("2") });
    const scratch = `SCRATCH_${Date.now()}`;
    await jsm.streams.add({ name: scratch, subjects: [`scratch.${scratch}`] });
    await edge2Jsm.streams.add({ name: scratch, subjects: [`scratch.${scratch}`] });
    const connection = await hostileLeaf();
    try {
      const reply = `_INBOX.${edgeDomain("1")}.hostile`;
      // Both spellings of the cloud API (the hub maps the domain-prefixed one in the leaf's account).
      await connection.publish(`$JS.${CLOUD_DOMAIN}.API.STREAM.DELETE.${scratch}`, "", reply);
      await connection.publish(`$JS.API.STREAM.DELETE.${scratch}`, "", reply);
      await connection.publish(`$JS.${edgeDomain("2")}.API.STREAM.DELETE.${scratch}`, "", reply);
      await connection.publish(`$JS.${CLOUD_DOMAIN}.API.CONSUMER.CREATE.${scratch}`, JSON.stringify({ stream_name: scratch, config: { deliver_subject: subjects.node(edgeDomain("2")) } }), reply);
    } finally {
      connection.close();
    }
    // The API answers asynchronously: give a delete time to happen before saying it did not.
    expect(await stillThere(jsm, scratch, 5_000)).toBe(true);
    expect(await stillThere(edge2Jsm, scratch, 1_000)).toBe(true);
    expect((await jsm.consumers.list(scratch).next()).length).toBe(0);
    await jsm.streams.delete(scratch);
    await edge2Jsm.streams.delete(scratch);
  });
});
