import { rmSync } from "node:fs";
import type { Msg, NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASELINE_VERSION, BASELINE_WINDOW } from "../edge-runtime/inference/baseline.ts";
import type { EdgeRuntime } from "../edge-runtime/runtime.ts";
import { decodeEvent, subjects, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { syntheticReadings } from "../src/model/synthetic.ts";
import { eventsOf, ofType, storeReading, trainTinyModelArtifact } from "./edge-support.ts";
import { eventually, givenFleet, tempDir } from "./harness.ts";

// The pure-JS backend: no WASM start-up, and the same numbers on every machine.
process.env.TIDE_TF_BACKEND = "cpu";

const EDGE = "1";
const DOMAIN = edgeDomain(EDGE);

let given: Awaited<ReturnType<typeof givenFleet>>;
let runtime: EdgeRuntime;
let edge: NatsConnection;
let hub: NatsConnection;
const artifactDir = tempDir("tide-model-");

beforeAll(async () => {
  given = await givenFleet({ edges: 1, heartbeatMs: 200 });
  runtime = given.fleet.edges.get(EDGE)!;
  edge = await given.connect(EDGE);
  hub = await given.connect(CLOUD_DOMAIN);
});

afterAll(async () => {
  await given?.cleanup();
  rmSync(artifactDir, { recursive: true, force: true });
});

type Inference = TideEvent<"tide.inference.completed.v1">;

/** The inference events of one device on edge 1's INFERENCES, once there are `count` of them. */
async function inferencesOf(device: string, count: number): Promise<Inference[]> {
  const stored = await eventually(
    async () => ofType(await eventsOf(edge, DOMAIN, "INFERENCES", subjects.inference(EDGE, device)), "tide.inference.completed.v1"),
    (events) => events.length >= count,
    30_000,
    `${count} inferences of ${device}`,
  );
  return stored.map((s) => s.event);
}

describe("edge pipeline with the rule-based baseline", () => {
  it("infers every reading once, decides cooling with hysteresis on the observed temperature, and commands the device", async () => {
    const device = "cooler-1";
    const commandsSeen: Msg[] = [];
    const deviceSub = edge.subscribe(subjects.command(EDGE, device), { callback: (_error, msg) => void commandsSeen.push(msg) });
    await edge.flush();

    // Rising through 26 °C (on), holding in the band, falling to 24 °C (off), back into the band (hold).
    const temperatures = [22, 23, 24, 25, 25.5, 26.2, 26.5, 25, 24.5, 24.0, 23, 25, 25.9];
    const [turnsOn, turnsOff] = [5, 9];
    const seqs: number[] = [];
    for (const t of temperatures) seqs.push(await storeReading(edge, EDGE, device, t));

    const inferences = await inferencesOf(device, temperatures.length);
    expect(inferences).toHaveLength(temperatures.length);
    inferences.forEach((inference, i) => {
      expect(inference.data).toMatchObject({ edge: EDGE, device, modelVersion: BASELINE_VERSION });
      // The window: this device's readings up to this one (the baseline uses at most BASELINE_WINDOW + 1 of them).
      const expectedWindow = seqs.slice(Math.max(0, i + 1 - (BASELINE_WINDOW + 1)), i + 1);
      expect(inference.data.inputSeqs, `inputSeqs of reading ${i}`).toEqual(expectedWindow);
      expect(inference.data.inputSeqs.at(-1)).toBe(seqs[i]);
    });

    const all = await eventsOf(edge, DOMAIN, "INFERENCES");
    const decisions = ofType(all, "tide.decision.made.v1").filter((d) => d.event.data.device === device);
    const commands = ofType(all, "tide.command.issued.v1").filter((c) => c.event.data.device === device);
    expect(decisions.map((d) => d.subject)).toEqual([subjects.decision(EDGE, device), subjects.decision(EDGE, device)]);
    // Exactly two decisions: no repeat between the thresholds.
    expect(decisions.map((d) => [d.event.data.action, d.event.data.readingSeq])).toEqual([
      ["cooling_on", seqs[turnsOn]],
      ["cooling_off", seqs[turnsOff]],
    ]);
    for (const { event } of decisions) {
      expect(event.data.basis).toBe("baseline");
      expect(event.data.modelVersion).toBeUndefined();
      expect(event.data.reason).toMatch(/baseline/);
      const inference = inferences.find((i) => i.metadata.id === event.data.inferenceId);
      expect(inference?.data.inputSeqs.at(-1)).toBe(event.data.readingSeq);
    }
    expect(decisions[0]!.event.data.reason).toMatch(/26\.20 °C >= 26/);
    expect(decisions[1]!.event.data.reason).toMatch(/24\.00 °C <= 24/);

    expect(commands.map((c) => c.subject)).toEqual([subjects.command(EDGE, device), subjects.command(EDGE, device)]);
    expect(commands.map((c) => [c.event.data.command, c.event.data.decisionId])).toEqual(decisions.map((d) => [d.event.data.action, d.event.metadata.id]));

    // The device itself, subscribed to its command subject, got both commands, in order.
    await eventually(() => commandsSeen.length, (n) => n >= 2, 10_000, "commands delivered to the device");
    deviceSub.unsubscribe();
    const delivered = commandsSeen.map((m) => decodeEvent(m.headers, m.data));
    expect(delivered.map((d) => (d.success && d.event.type === "tide.command.issued.v1" ? d.event.data.command : d))).toEqual(["cooling_on", "cooling_off"]);
    expect(delivered.map((d) => d.success && d.event.metadata.id)).toEqual(commands.map((c) => c.event.metadata.id));
  });
});

describe("heartbeats", () => {
  it("register edge-1 on the cloud NODES and report backend, queue depth and the baseline model", async () => {
    const subject = subjects.node("edge-1");
    const events = await eventually(
      () => eventsOf(hub, CLOUD_DOMAIN, "NODES", subject),
      (e) => ofType(e, "tide.node.registered.v1").length >= 1 && ofType(e, "tide.node.heartbeat.v1").length >= 2,
      20_000,
      "edge-1 registered and beating",
    );
    expect(["tensorflow", "wasm", "cpu"]).toContain(runtime.backend);
    expect(runtime.backend).toBe("cpu");
    const registered = ofType(events, "tide.node.registered.v1")[0]!;
    expect(registered.subject).toBe(subject);
    expect(registered.event.data).toMatchObject({ node: "edge-1", kind: "edge", edge: EDGE, backend: runtime.backend });
    for (const { subject: s, event } of ofType(events, "tide.node.heartbeat.v1")) {
      expect(s).toBe(subject);
      expect(event.data).toMatchObject({ node: "edge-1", backend: runtime.backend, modelVersion: BASELINE_VERSION });
      expect(Number.isInteger(event.data.queueDepth) && event.data.queueDepth >= 0).toBe(true);
    }
  });
});

describe("model hot-swap", () => {
  it("loses, duplicates and reorders no reading under continuous load, and every inference names its exact model", async () => {
    const model = await trainTinyModelArtifact(artifactDir, "hotswap-test-1");
    const devices = ["swap-a", "swap-b", "swap-c", "swap-d"];
    const perDevice = 500;
    const climate = syntheticReadings({ devices, perDevice, seed: 3 });
    const seqsByDevice = new Map(devices.map((d) => [d, [] as number[]]));
    let swap: Promise<unknown> | undefined;

    for (let i = 0; i < perDevice; i++) {
      if (i === perDevice / 2) {
        // Midway, without pausing the load: once the pipeline has decided a good part of what is in, swap.
        swap = eventually(() => runtime.pipeline.stats.processed, (n) => n >= 400, 30_000, "pipeline under way").then(() => runtime.activateModel({ file: model.file }));
      }
      // Readings published after the swap completed must all be on the model: wait for it three quarters in.
      if (i === (perDevice * 3) / 4) expect(await swap).toMatchObject({ version: model.version, previousVersion: BASELINE_VERSION });
      const round = climate.slice(i * devices.length, (i + 1) * devices.length);
      const seqs = await Promise.all(round.map((r) => storeReading(edge, EDGE, r.device!, r.temperature, r.humidity)));
      round.forEach((r, k) => seqsByDevice.get(r.device!)!.push(seqs[k]!));
    }
    expect(runtime.engine.activeVersion()).toBe(model.version);

    // READINGS holds exactly the acknowledged readings.
    const stored = (await eventsOf(edge, DOMAIN, "READINGS")).filter((r) => r.event.type === "tide.reading.recorded.v1" && devices.includes(r.event.data.device));
    expect(stored.map((r) => r.seq).sort((a, b) => a - b)).toEqual([...seqsByDevice.values()].flat().sort((a, b) => a - b));

    const decisions = ofType(await eventsOf(edge, DOMAIN, "INFERENCES", subjects.decision(EDGE, "*")), "tide.decision.made.v1").filter((d) => devices.includes(d.event.data.device));
    for (const device of devices) {
      const seqs = seqsByDevice.get(device)!;
      const inferences = await inferencesOf(device, perDevice);
      // Exactly one inference per reading, in reading order (stream order of INFERENCES).
      expect(inferences.map((i) => i.data.inputSeqs.at(-1))).toEqual(seqs);

      const versions = inferences.map((i) => i.data.modelVersion);
      const firstModel = versions.indexOf(model.version);
      expect(firstModel, `${device} switched to the model`).toBeGreaterThan(0);
      // One switch, baseline → model, never back.
      expect(versions.slice(0, firstModel).every((v) => v === BASELINE_VERSION)).toBe(true);
      expect(versions.slice(firstModel).every((v) => v === model.version)).toBe(true);
      // Everything sent after the swap completed is on the model.
      expect(firstModel).toBeLessThanOrEqual((perDevice * 3) / 4);

      for (const inference of inferences.slice(firstModel)) {
        const last = seqs.indexOf(inference.data.inputSeqs.at(-1)!);
        // The model's window: the device's own last W + 1 readings.
        expect(inference.data.inputSeqs).toEqual(seqs.slice(last - model.window, last + 1));
        expect(inference.data.backend).toBe(runtime.backend);
        expect(Number.isFinite(inference.data.prediction.temperature)).toBe(true);
      }
      // Decisions say which of the two made them.
      const modelSeqs = new Set(inferences.slice(firstModel).map((i) => i.data.inputSeqs.at(-1)));
      for (const { event } of decisions.filter((d) => d.event.data.device === device)) {
        const byModel = modelSeqs.has(event.data.readingSeq);
        expect(event.data).toMatchObject(byModel ? { basis: "model", modelVersion: model.version } : { basis: "baseline" });
      }
    }
  });

  it("heartbeats report the activated model version", async () => {
    const latest = await eventually(
      async () => ofType(await eventsOf(hub, CLOUD_DOMAIN, "NODES", subjects.node("edge-1")), "tide.node.heartbeat.v1").at(-1)?.event.data,
      (beat) => beat?.modelVersion === "hotswap-test-1",
      20_000,
      "a heartbeat naming the model",
    );
    expect(latest).toMatchObject({ node: "edge-1", backend: runtime.backend, modelVersion: runtime.engine.activeVersion() });
  });
});
