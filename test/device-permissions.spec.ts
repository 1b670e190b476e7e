import mqtt, { type MqttClient } from "mqtt";
import { connect, type Msg, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { addDevice, connectAsDevice, connectAsGateway, deviceMqttOptions } from "../src/devices/index.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readCredentials } from "../src/topology/index.ts";
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
