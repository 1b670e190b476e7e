import mqtt, { type MqttClient } from "mqtt";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import type { EdgeRuntime } from "../edge-runtime/runtime.ts";
import { addDevice, deviceMqttOptions } from "../src/devices/index.ts";
import { subjects } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { eventsOf, ofType } from "./edge-support.ts";
import { eventually, givenFleet, streamMessages } from "./harness.ts";

process.env.TIDE_TF_BACKEND = "cpu";

const EDGE = "1";
const DOMAIN = edgeDomain(EDGE);

let given: Awaited<ReturnType<typeof givenFleet>>;
let runtime: EdgeRuntime;
let edge: NatsConnection;
const clients: MqttClient[] = [];

beforeAll(async () => {
  given = await givenFleet({ edges: 1 });
  runtime = given.fleet.edges.get(EDGE)!;
  edge = await given.connect(EDGE);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await given?.cleanup();
});

/** An MQTT device with its own credentials (`tide device add`): it may use its own topics only. */
async function mqttDevice(clientId: string, device: string): Promise<MqttClient> {
  await addDevice(given.dir, EDGE, device);
  const { url, username, password } = deviceMqttOptions(given.fleet.topology.file, EDGE, device);
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId, username, password, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

describe("MQTT ingestion (QoS 1)", () => {
  it("stores and infers every reading, and acknowledges each on the ack topic only once it is stored", async () => {
    const device = "mqtt-dev-1";
    const client = await mqttDevice("tide-test-mqtt-1", device);
    const jsm = await edge.jetstreamManager({ domain: DOMAIN });
    const acks: Array<{ reply: IngestReply; storedWhenAcked: boolean }> = [];
    client.on("message", (topic, payload) => {
      if (topic !== `tide/ack/${EDGE}/${device}`) return;
      const reply = JSON.parse(payload.toString()) as IngestReply;
      // Look the acknowledged seq up the moment the ack arrives: it must already be in READINGS.
      const entry = { reply, storedWhenAcked: false };
      acks.push(entry);
      if (reply.ok) {
        void jsm.streams.getMessage("READINGS", { seq: reply.seq }).then(
          (m) => void (entry.storedWhenAcked = m.subject === subjects.reading(EDGE, device)),
          () => undefined,
        );
      }
    });
    await client.subscribeAsync(`tide/ack/${EDGE}/${device}`, { qos: 1 });

    const temperatures = [20.5, 21, 21.5, 22, 22.5, 23];
    for (const [i, temperature] of temperatures.entries()) {
      // publishAsync resolves on the PUBACK (QoS 1) — which is not yet the stored-ack.
      await client.publishAsync(`tide/ingest/${EDGE}/${device}`, JSON.stringify({ seq: i, temperature, humidity: 40 + i }), { qos: 1 });
    }
    await eventually(() => acks.filter((a) => a.storedWhenAcked).length, (n) => n === temperatures.length, 15_000, "stored-acks for every reading");
    expect(acks.map((a) => a.reply.ok)).toEqual(temperatures.map(() => true));

    const stored = ofType(await eventsOf(edge, DOMAIN, "READINGS", subjects.reading(EDGE, device)), "tide.reading.recorded.v1");
    expect(stored.map((r) => r.event.data.temperature)).toEqual(temperatures);
    expect(stored.map((r) => r.event.data.seq)).toEqual(temperatures.map((_, i) => i));
    const ackSeqs = acks.map((a) => (a.reply.ok ? a.reply.seq : -1)).sort((a, b) => a - b);
    expect(ackSeqs).toEqual(stored.map((r) => r.seq));
    expect(acks.map((a) => (a.reply.ok ? a.reply.id : "")).sort()).toEqual(stored.map((r) => r.event.metadata.id).sort());

    // ... and inferred: one inference per stored reading.
    const inferences = await eventually(
      async () => ofType(await eventsOf(edge, DOMAIN, "INFERENCES", subjects.inference(EDGE, device)), "tide.inference.completed.v1"),
      (events) => events.length >= stored.length,
      15_000,
      "inferences of the MQTT readings",
    );
    expect(inferences.map((i) => i.event.data.inputSeqs.at(-1))).toEqual(stored.map((r) => r.seq));
    expect(inferences.every((i) => i.event.data.device === device && i.event.data.modelVersion === "baseline")).toBe(true);
  });

  it("answers a bad payload with {ok:false, reason} on the ack topic and dead-letters it", async () => {
    const device = "mqtt-dev-bad";
    const client = await mqttDevice("tide-test-mqtt-bad", device);
    const acks: IngestReply[] = [];
    client.on("message", (topic, payload) => void (topic === `tide/ack/${EDGE}/${device}` && acks.push(JSON.parse(payload.toString()) as IngestReply)));
    await client.subscribeAsync(`tide/ack/${EDGE}/${device}`, { qos: 1 });
    const readingsBefore = await streamMessages(edge, DOMAIN, "READINGS");

    const bad = "temperature=21;humidity=40";
    await client.publishAsync(`tide/ingest/${EDGE}/${device}`, bad, { qos: 1 });
    await client.publishAsync(`tide/ingest/${EDGE}/${device}`, JSON.stringify({ temperature: 21, humidity: 140 }), { qos: 1 });
    await eventually(() => acks.length, (n) => n >= 2, 15_000, "two rejection acks");
    expect(acks).toHaveLength(2);
    expect(acks.map((a) => a.ok)).toEqual([false, false]);
    const reasons = acks.map((a) => (a.ok ? "" : a.reason)).sort();
    expect(reasons).toEqual(["not_json", "schema"]);
    const schemaAck = acks.find((a) => !a.ok && a.reason === "schema");
    expect(!schemaAck?.ok && schemaAck?.issues.join(" ")).toMatch(/humidity/);

    const letters = ofType(await eventsOf(edge, DOMAIN, "DLQ"), "tide.dlq.rejected.v1").filter((l) => l.event.data.subject === subjects.ingest(EDGE, device));
    expect(letters.map((l) => l.event.data.reason).sort()).toEqual(["not_json", "schema"]);
    const notJson = letters.find((l) => l.event.data.reason === "not_json")!;
    expect(notJson.subject).toBe(subjects.deadLetter(EDGE, "not_json"));
    expect(Buffer.from(notJson.event.data.payload, "base64").toString()).toBe(bad);
    expect(await streamMessages(edge, DOMAIN, "READINGS")).toBe(readingsBefore);
  });
});

async function post(path: string, body: string, contentType = "application/json"): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${runtime.httpUrl}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const point = (temperature = 21, humidity = 40) => ({ temperature, humidity });
const validWindow = [point(21, 40), point(21.4, 41), point(21.9, 42), point(22.3, 42)];

describe("POST /predict", () => {
  it("answers a valid window with a prediction, the model version and the latency", async () => {
    const { status, body } = await post("/predict", JSON.stringify({ device: "http-dev", window: validWindow }));
    expect(status).toBe(200);
    expect(body).toMatchObject({ device: "http-dev", modelVersion: "baseline" });
    const prediction = body.prediction as { temperature: unknown };
    expect(typeof prediction.temperature).toBe("number");
    // A rising trend predicts above the last reading.
    expect(prediction.temperature as number).toBeGreaterThan(22.3);
    expect(typeof body.latencyMs).toBe("number");
    expect(body.latencyMs as number).toBeGreaterThanOrEqual(0);
  });

  const tooLong = Array.from({ length: 65 }, () => point());
  const badInputs: Array<{ name: string; body: string; contentType?: string; status: number; error: RegExp; issue?: RegExp }> = [
    { name: "a body that is not JSON", body: "{window: [", status: 400, error: /not JSON/ },
    { name: "a text/plain content-type", body: JSON.stringify({ window: validWindow }), contentType: "text/plain", status: 415, error: /content-type must be application\/json.*text\/plain/ },
    { name: "no window", body: JSON.stringify({ device: "x" }), status: 400, error: /invalid request body/, issue: /^window: / },
    { name: "an empty window", body: JSON.stringify({ window: [] }), status: 400, error: /invalid request body/, issue: /^window: .*>=1/ },
    { name: "a string temperature", body: JSON.stringify({ window: [{ temperature: "21", humidity: 40 }] }), status: 400, error: /invalid request body/, issue: /^window\.0\.temperature: .*number/ },
    { name: "humidity out of range", body: JSON.stringify({ window: [point(21, 140)] }), status: 400, error: /invalid request body/, issue: /^window\.0\.humidity: .*<=100/ },
    { name: "an unknown extra field", body: JSON.stringify({ window: validWindow, pressure: 1013 }), status: 400, error: /invalid request body/, issue: /pressure/ },
    { name: "a window longer than 64", body: JSON.stringify({ window: tooLong }), status: 400, error: /invalid request body/, issue: /^window: .*<=64/ },
    { name: "an invalid device id", body: JSON.stringify({ device: "not a device!", window: validWindow }), status: 400, error: /invalid request body/, issue: /^device: .*device id/ },
    { name: "a JSON array instead of an object", body: JSON.stringify([validWindow]), status: 400, error: /invalid request body/, issue: /^\(root\): / },
  ];

  for (const bad of badInputs) {
    it(`refuses ${bad.name} with ${bad.status} and says why`, async () => {
      const { status, body } = await post("/predict", bad.body, bad.contentType);
      expect(status).toBe(bad.status);
      expect(body.error).toMatch(bad.error);
      if (bad.issue) {
        expect(Array.isArray(body.issues)).toBe(true);
        expect((body.issues as string[]).some((i) => bad.issue!.test(i)), JSON.stringify(body.issues)).toBe(true);
      }
    });
  }

  it("answers GET /predict with 405, an unknown path with 404, and still serves a valid request afterwards", async () => {
    const get = await fetch(`${runtime.httpUrl}/predict`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: string }).error).toMatch(/GET not allowed on \/predict.*POST/);
    const unknown = await post("/no-such-path", JSON.stringify({ window: validWindow }));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no route \/no-such-path/);
    const tooBig = await post("/predict", JSON.stringify({ window: validWindow, pad: "x".repeat(70 * 1024) }));
    expect(tooBig.status).toBe(413);

    const again = await post("/predict", JSON.stringify({ window: validWindow }));
    expect(again.status).toBe(200);
    expect(typeof (again.body.prediction as { temperature: unknown }).temperature).toBe("number");
    expect(again.body.device).toBe("http");
  });
});
