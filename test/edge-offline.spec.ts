import { rmSync } from "node:fs";
import type { Msg, NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASELINE_VERSION, baselinePredict } from "../edge-runtime/inference/baseline.ts";
import { loadModelFromFile } from "../edge-runtime/inference/model-source.ts";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { decodeEvent, subjects, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { selectBackend } from "../src/model/backend.ts";
import { eventsOf, ofType, sendReading, storeReading, trainTinyModelArtifact } from "./edge-support.ts";
import { eventually, givenFleet, tempDir } from "./harness.ts";

process.env.TIDE_TF_BACKEND = "cpu";

/** Edge 1 runs as the fleet starts it; edge 2 is restarted to offload every sample to the cloud (joint inference). */
const PLAIN = "1";
const JOINT = "2";

let given: Awaited<ReturnType<typeof givenFleet>>;
let plain: EdgeRuntime;
let joint: EdgeRuntime;
let edge1: NatsConnection;
let edge2: NatsConnection;
let hub: NatsConnection;
let cloudModelVersion: string;
const artifactDir = tempDir("tide-model-");

beforeAll(async () => {
  given = await givenFleet({ edges: 2 });
  const { fleet } = given;
  plain = fleet.edges.get(PLAIN)!;
  await fleet.edges.get(JOINT)!.stop();
  // Score >= 0: every sample is offloaded. A generous timeout: the answer must arrive while the hub is up.
  joint = await startEdgeRuntime({ topology: fleet.topology.file, edge: JOINT, httpPort: 0, offloadAboveScore: 0, offloadTimeoutMs: 5000 });
  fleet.edges.set(JOINT, joint);
  // The cloud answers with its own model, so its answers are told apart from the edge's baseline.
  const artifact = await trainTinyModelArtifact(artifactDir, "cloud-joint-1");
  const { tf } = await selectBackend({ logger: silentLogger });
  cloudModelVersion = fleet.cloud.engine.activate(await loadModelFromFile(tf, artifact.file)).version;
  edge1 = await given.connect(PLAIN);
  edge2 = await given.connect(JOINT);
  hub = await given.connect(CLOUD_DOMAIN); // reconnects by itself after the hub restart
});

afterAll(async () => {
  await given?.cleanup();
  rmSync(artifactDir, { recursive: true, force: true });
});

type Inference = TideEvent<"tide.inference.completed.v1">;

async function inferencesOf(nc: NatsConnection, edge: string, device: string, count: number): Promise<Inference[]> {
  const stored = await eventually(
    async () => ofType(await eventsOf(nc, edgeDomain(edge), "INFERENCES", subjects.inference(edge, device)), "tide.inference.completed.v1"),
    (events) => events.length >= count,
    30_000,
    `${count} inferences of ${device} on edge ${edge}`,
  );
  return stored.map((s) => s.event);
}

/** The temperatures (and seqs) behind an inference's window, from the edge READINGS. */
async function windowOf(nc: NatsConnection, edge: string, inference: Inference) {
  const jsm = await nc.jetstreamManager({ domain: edgeDomain(edge) });
  return Promise.all(
    inference.data.inputSeqs.map(async (seq) => {
      const data = (await jsm.streams.getMessage("READINGS", { seq })).json<{ temperature: number; humidity: number }>();
      return { seq, temperature: data.temperature, humidity: data.humidity };
    }),
  );
}

const rising = (n: number, from = 21) => Array.from({ length: n }, (_, i) => from + 0.25 * i + (i % 2) * 0.05);

describe("joint inference", () => {
  it("uses and records the cloud's answer when it arrives in time", async () => {
    const device = "joint-online";
    const temperatures = rising(12);
    const seqs: number[] = [];
    for (const t of temperatures) seqs.push(await storeReading(edge2, JOINT, device, t));
    const inferences = await inferencesOf(edge2, JOINT, device, seqs.length);

    expect(inferences.map((i) => i.data.inputSeqs.at(-1))).toEqual(seqs);
    for (const inference of inferences) {
      const { offload, prediction, modelVersion } = inference.data;
      // The edge's own model is the baseline; the cloud's answer is what the event carries.
      expect(modelVersion).toBe(BASELINE_VERSION);
      expect(offload).toMatchObject({ requested: true, used: true });
      expect(offload?.reason).toMatch(/anomaly score .* >= 0/);
      expect(prediction.temperature).toBe(offload?.cloudPrediction);
    }
    // Windows long enough for the cloud model (W + 1 = 9 readings) are answered by it; shorter ones by the cloud's baseline.
    const cloudVersions = inferences.map((i) => i.data.offload?.cloudModelVersion);
    expect(cloudVersions.slice(0, 8).every((v) => v === BASELINE_VERSION)).toBe(true);
    expect(cloudVersions.slice(8)).toEqual(inferences.slice(8).map(() => cloudModelVersion));
    expect(joint.pipeline.stats.offloadUsed).toBeGreaterThanOrEqual(seqs.length);
  });
});

describe("offline: the hub is down", () => {
  it("keeps ingesting, projecting, inferring, deciding and commanding on the edge, and falls back to the edge's own prediction", async () => {
    const device = "offline-dev";
    const before = [22, 22.5];
    const beforeIds: string[] = [];
    for (const t of before) {
      const reply = await sendReading(edge1, PLAIN, device, t);
      expect(reply.ok).toBe(true);
      if (reply.ok) beforeIds.push(reply.id);
    }
    const commandsSeen: Msg[] = [];
    const deviceSub = edge1.subscribe(subjects.command(PLAIN, device), { callback: (_e, msg) => void commandsSeen.push(msg) });
    await edge1.flush();

    await given.fleet.topology.stopServer("hub");

    // Edge 1: up through 26 °C and back down to 24 °C while offline.
    const offline = [23, 24.5, 25.5, 26.3, 26.8, 25, 23.9, 23.5];
    const offlineIds: string[] = [];
    const offlineSeqs: number[] = [];
    for (const t of offline) {
      const reply = await sendReading(edge1, PLAIN, device, t, 50);
      expect(reply, `ingest of ${t} °C while offline`).toMatchObject({ ok: true, duplicate: false });
      if (!reply.ok) continue;
      offlineIds.push(reply.id);
      offlineSeqs.push(reply.seq);
    }

    // Local projection: the device row follows the readings.
    const row = await eventually(
      () => plain.db.prepare("SELECT readings, last_seq, temperature FROM devices WHERE edge = ? AND device = ?").get(PLAIN, device) as { readings: number; last_seq: number; temperature: number } | undefined,
      (r) => r?.readings === before.length + offline.length,
      15_000,
      "the edge devices projection",
    );
    expect(row).toEqual({ readings: before.length + offline.length, last_seq: offlineSeqs.at(-1), temperature: offline.at(-1) });

    // Inference, decisions and commands, all on the edge.
    const inferences = await inferencesOf(edge1, PLAIN, device, before.length + offline.length);
    expect(inferences.slice(before.length).map((i) => i.data.inputSeqs.at(-1))).toEqual(offlineSeqs);
    const all = await eventsOf(edge1, edgeDomain(PLAIN), "INFERENCES");
    const decisions = ofType(all, "tide.decision.made.v1").filter((d) => d.event.data.device === device);
    expect(decisions.map((d) => [d.event.data.action, d.event.data.readingSeq])).toEqual([
      ["cooling_on", offlineSeqs[3]],
      ["cooling_off", offlineSeqs[6]],
    ]);
    const commands = ofType(all, "tide.command.issued.v1").filter((c) => c.event.data.device === device);
    expect(commands.map((c) => c.event.data.command)).toEqual(["cooling_on", "cooling_off"]);
    await eventually(() => commandsSeen.length, (n) => n >= 2, 10_000, "commands delivered to the device while offline");
    deviceSub.unsubscribe();
    expect(commandsSeen.map((m) => decodeEvent(m.headers, m.data)).map((d) => d.success && d.event.type === "tide.command.issued.v1" && d.event.data.command)).toEqual(["cooling_on", "cooling_off"]);

    // Edge 2: the cloud cannot answer; the edge's own prediction is used, and that is recorded.
    const jointDevice = "joint-offline";
    const jointSeqs: number[] = [];
    for (const t of rising(4, 20)) jointSeqs.push(await storeReading(edge2, JOINT, jointDevice, t));
    const jointInferences = await inferencesOf(edge2, JOINT, jointDevice, jointSeqs.length);
    expect(jointInferences.map((i) => i.data.inputSeqs.at(-1))).toEqual(jointSeqs);
    for (const inference of jointInferences) {
      expect(inference.data.offload).toMatchObject({ requested: true, used: false });
      expect(inference.data.offload?.cloudModelVersion).toBeUndefined();
      expect(inference.data.offload?.cloudPrediction).toBeUndefined();
      expect(inference.data.prediction.temperature).toBeCloseTo(baselinePredict(await windowOf(edge2, JOINT, inference)).temperature, 9);
    }

    // The hub comes back: the uplink catches up by itself, exactly once.
    await given.fleet.topology.startServer("hub");
    const expected = [...beforeIds, ...offlineIds].sort();
    const inCloud = await eventually(
      async () => (await eventsOf(hub, CLOUD_DOMAIN, "READINGS", subjects.reading(PLAIN, device))).map((r) => r.event.metadata.id),
      (ids) => ids.length >= expected.length,
      45_000,
      "the offline readings in the cloud READINGS",
    );
    expect([...inCloud].sort()).toEqual(expected);
    expect(new Set(inCloud).size).toBe(inCloud.length);
  });

  it("offloads to the cloud again once the hub is back", async () => {
    const device = "joint-back";
    let t = 20;
    const used = await eventually(
      async () => {
        await storeReading(edge2, JOINT, device, (t += 0.1));
        const events = ofType(await eventsOf(edge2, edgeDomain(JOINT), "INFERENCES", subjects.inference(JOINT, device)), "tide.inference.completed.v1");
        return events.filter((e) => e.event.data.offload?.used).at(-1)?.event.data.offload;
      },
      (offload) => offload !== undefined,
      30_000,
      "an offload answered after the hub restart",
    );
    expect(used).toMatchObject({ requested: true, used: true });
    expect([BASELINE_VERSION, cloudModelVersion]).toContain(used?.cloudModelVersion);
  });
});
