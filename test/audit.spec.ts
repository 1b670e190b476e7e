import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { exportBundle, openPlaces, traceDecision, traceModel, verifyFleet, type AuditBundle, type AuditPlaces, type VerifyReport } from "../src/audit/index.ts";
import { startCloudServices, type CloudServices } from "../src/cloud/cloud-services.ts";
import { createEvent, readingRecorded, subjects, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { createRolloutController, type RolloutController } from "../src/rollout/controller.ts";
import { requestRollout } from "../src/rollout/request.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import { readMessages } from "../src/store/read-stream.ts";
import { countReadingsAfter } from "../src/training/schedule.ts";
import { MODELS_BUCKET } from "../src/training/publish.ts";
import { decisionsOf, sendTemperatures, startWave, storedEvents, tide, trainForced } from "./audit-support.ts";
import { eventually, givenTopology } from "./harness.ts";
import { simulatedReadings } from "./training-support.ts";

// The pure-JS backend: no WASM start-up, the same numbers everywhere.
process.env.TIDE_TF_BACKEND = "cpu";

const EDGES = ["1", "2"];
/** Simulated ticks per edge for the training data: 4 devices each. */
const TICKS = 60;
const EPOCHS = 2;
const LOW = 15;
const HIGH = 35;
/** Enough readings per phase for the model's window (W + 1 = 9) to be full of the phase. */
const PHASE = 12;

let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: CloudServices;
let controller: RolloutController;
let hub: NatsConnection;
const edgeNc = new Map<string, NatsConnection>();
const runtimes = new Map<string, EdgeRuntime>();
let places: AuditPlaces;

/** What the scenario did, with the answers the audit must give. */
const scenario = {
  t: {} as Record<"start" | "beforeTraining" | "beforeRollout" | "afterRollout" | "end", Date>,
  runId: "",
  version: "",
  rolloutId: "",
  /** Cloud READINGS when training ran: every one is a reading (no policy: no summaries). */
  trainingReadings: 0,
  /** Readings per `edge/device` in the training range. */
  perDevice: new Map<string, number>(),
  baselineDecision: undefined as TideEvent<"tide.decision.made.v1"> | undefined,
  rolloutDecisions: [] as Array<TideEvent<"tide.decision.made.v1">>,
  rolloutSeqs: [] as number[],
  localDecision: undefined as TideEvent<"tide.decision.made.v1"> | undefined,
};

const count = (key: string, n = 1) => scenario.perDevice.set(key, (scenario.perDevice.get(key) ?? 0) + n);
const phases = (...parts: number[]) => parts.flatMap((t) => Array<number>(PHASE).fill(t));

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  hub = await given.connect(CLOUD_DOMAIN);
  for (const edge of EDGES) {
    edgeNc.set(edge, await given.connect(edge));
    runtimes.set(edge, await startEdgeRuntime({ topology: given.topology.file, edge, logger: silentLogger, httpPort: 0, heartbeatMs: 300, rolloutPollMs: 100, offloadAboveScore: Infinity }));
  }
  cloud = await startCloudServices({
    topology: given.topology.file,
    logger: silentLogger,
    training: { epochs: EPOCHS, batchSize: 32, minTrainSamples: 50, schedule: { everyMinutes: 0 }, drift: { enabled: false } },
  });
  controller = createRolloutController({ nc: hub, config: { edges: EDGES }, tickMs: 200, id: "audit-test-controller" });
  await controller.start();
  scenario.t.start = new Date();

  // A baseline decision on edge 2: 27 °C is over the 26 °C threshold.
  const edge2 = edgeNc.get("2")!;
  await sendTemperatures(edge2, "2", "probe-b", [20, 27]);
  count("2/probe-b", 2);
  scenario.baselineDecision = (await decisionsOf(edge2, "2", "probe-b", 1))[0];

  // Training data: simulated devices on both edges, appended as ingest would, forwarded to the cloud.
  for (const edge of EDGES) {
    const writer = createEventWriter(edgeNc.get(edge)!.jetstream(), { maxInFlight: 256 });
    const readings = simulatedReadings(edge, TICKS);
    await Promise.all(
      readings.map((data) => {
        count(`${edge}/${data.device}`);
        const event = createEvent({ type: readingRecorded.type, data }, { source: `tide://${edgeDomain(edge)}/test`, id: `audit-${edge}-${data.device}-${data.seq}` });
        return writer.append(subjects.reading(edge, data.device, "up"), event);
      }),
    );
  }
  scenario.trainingReadings = [...scenario.perDevice.values()].reduce((a, b) => a + b, 0);
  await eventually(() => countReadingsAfter(hub, 0), (n) => n >= scenario.trainingReadings, 30_000, "training readings in the cloud");

  scenario.t.beforeTraining = new Date();
  Object.assign(scenario, await trainForced(hub, EPOCHS));

  // Roll the version out to edge 1 only, with devices there giving the canary something to observe.
  scenario.t.beforeRollout = new Date();
  const wave = startWave(edgeNc.get("1")!, "1", "wave-1");
  try {
    const criteria = { minInferences: 8, observeMs: 3000, maxErrorRatio: 1000, maxLatencyRatio: 1000, maxLatencyMs: 5000, stageTimeoutMs: 60_000 };
    scenario.rolloutId = (await requestRollout(hub, { version: scenario.version, strategy: "all", edges: ["1"], criteria }, "audit-test")).rolloutId;
    const end = await eventually(
      () => storedEvents(hub, CLOUD_DOMAIN, "ROLLOUTS", subjects.rollout(scenario.rolloutId)),
      (es) => es.some((e) => /completed\.v1$|rolled_back\.v1$|rejected\.v1$/.test(e.event.type) && e.event.type !== "tide.rollout.stage.completed.v1"),
      90_000,
      "the rollout's end",
    );
    expect(end.at(-1)!.event.type).toBe("tide.rollout.completed.v1");
  } finally {
    await wave.stop();
  }
  await eventually(() => runtimes.get("1")!.engine.activeVersion(), (v) => v === scenario.version, 10_000, "edge 1 on the new version");
  scenario.t.afterRollout = new Date();

  // Edge 1 (by rollout): cold, hot, cold -> the model switches cooling on, then off.
  scenario.rolloutSeqs = await sendTemperatures(edgeNc.get("1")!, "1", "probe-a", phases(LOW, HIGH, LOW));
  scenario.rolloutDecisions = await decisionsOf(edgeNc.get("1")!, "1", "probe-a", 2);

  // Edge 2 (activated locally, no rollout): cold, hot -> cooling on by the model.
  const published = (await storedEvents(hub, CLOUD_DOMAIN, "MODELS", subjects.model(scenario.version))).map((s) => s.event).find((e) => e.type === "tide.model.published.v1") as TideEvent<"tide.model.published.v1">;
  const { artifact } = published.data;
  await runtimes.get("2")!.activateModel({ bucket: artifact.bucket, name: artifact.name, domain: CLOUD_DOMAIN }, { sha256: artifact.digest.sha256, size: artifact.digest.size, version: scenario.version });
  await sendTemperatures(edge2, "2", "probe-c", phases(LOW, HIGH));
  scenario.localDecision = (await decisionsOf(edge2, "2", "probe-c", 1))[0];
  // The heartbeats have reported the new models by now.
  for (const node of ["edge-1", "edge-2"]) {
    const reported = (e: TideEvent | undefined) => e?.type === "tide.node.heartbeat.v1" && e.data.modelVersion === scenario.version;
    await eventually(async () => (await storedEvents(hub, CLOUD_DOMAIN, "NODES", subjects.node(node))).at(-1)?.event, reported, 10_000, `${node}'s heartbeat with the new model`);
  }
  scenario.t.end = new Date();
  places = await openPlaces(given.topology.file);
}, 240_000);

afterAll(async () => {
  await places?.close();
  await controller?.stop();
  for (const runtime of runtimes.values()) await runtime.stop();
  await cloud?.stop();
  await given?.cleanup();
});

describe("the scenario", () => {
  it("made the decisions the audit will explain", () => {
    expect(scenario.baselineDecision?.data).toMatchObject({ action: "cooling_on", basis: "baseline" });
    expect(scenario.rolloutDecisions.map((d) => [d.data.action, d.data.basis, d.data.modelVersion])).toEqual([
      ["cooling_on", "model", scenario.version],
      ["cooling_off", "model", scenario.version],
    ]);
    expect(scenario.localDecision?.data).toMatchObject({ action: "cooling_on", basis: "model", modelVersion: scenario.version });
  });
});

describe("tide audit decision", () => {
  it("follows a rollout-made decision back to the readings its model was trained on", async () => {
    const decision = scenario.rolloutDecisions[0]!;
    const lineage = await traceDecision(places, decision.metadata.id);
    expect(lineage.decision).toMatchObject({ id: decision.metadata.id, edge: "1", device: "probe-a", action: "cooling_on", basis: "model", modelVersion: scenario.version, domain: "edge-1" });
    // The inference that decided, and the window it saw: the cold phase and the first hot reading, which triggered it.
    const hotFirst = scenario.rolloutSeqs[PHASE]!;
    expect(lineage.inference).toMatchObject({ id: decision.data.inferenceId, modelVersion: scenario.version });
    expect(lineage.inputs.at(-1)).toMatchObject({ seq: hotFirst, device: "probe-a", temperature: HIGH });
    expect(lineage.inputs.map((i) => i.seq)).toEqual(scenario.rolloutSeqs.slice(PHASE + 1 - lineage.inputs.length, PHASE + 1));
    expect(lineage.inputs.slice(0, -1).every((i) => i.temperature === LOW)).toBe(true);
    // The model, the rollout that put it on edge 1, the run, its epochs, and the data.
    expect(lineage.model).toMatchObject({ version: scenario.version, runId: scenario.runId, published: true, dataRange: { fromSeq: 1, toSeq: scenario.trainingReadings } });
    expect(lineage.deployment).toEqual({ kind: "rollout", rolloutId: scenario.rolloutId, cause: "rollout" });
    expect(lineage.activation).toMatchObject({ edge: "1", version: scenario.version, rolloutId: scenario.rolloutId, status: "activated" });
    expect(lineage.rollout).toMatchObject({ rolloutId: scenario.rolloutId, version: scenario.version, strategy: "all", requestedBy: "audit-test", outcome: { status: "completed" } });
    expect(lineage.rollout?.stages.map((s) => s.edges)).toEqual([["1"]]);
    expect(lineage.run).toMatchObject({ runId: scenario.runId, reason: "manual", fromSeq: 1, toSeq: scenario.trainingReadings, readings: scenario.trainingReadings, outcome: { status: "completed", version: scenario.version, published: true } });
    expect(lineage.run?.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(lineage.data).toMatchObject({ fromSeq: 1, toSeq: scenario.trainingReadings, readings: scenario.trainingReadings, recordedReadings: scenario.trainingReadings });
    expect(lineage.data?.datasetHash?.matches).toBe(true);
    expect(Object.fromEntries(lineage.data!.devices.map((d) => [`${d.edge}/${d.device}`, d.readings]))).toEqual(Object.fromEntries(scenario.perDevice));
    expect(lineage.notes).toEqual([]);
  });

  it("says when the rule-based baseline decided, and when a model was activated locally without a rollout", async () => {
    const baseline = await traceDecision(places, scenario.baselineDecision!.metadata.id);
    expect(baseline.deployment).toEqual({ kind: "baseline" });
    expect(baseline.model).toBeUndefined();
    expect(baseline.inputs.map((i) => i.temperature)).toEqual([20, 27]);

    const local = await traceDecision(places, scenario.localDecision!.metadata.id);
    // The edge reported the local activation (cause "local"): the lineage says so instead of "no rollout found".
    expect(local.deployment).toMatchObject({ kind: "local", cause: "local" });
    expect(local.rollout).toBeUndefined();
    expect(local.model?.version).toBe(scenario.version);
    expect(local.run?.runId).toBe(scenario.runId);
  });

  it("on the command line: --json for machines, a readable chain for people, exit 1 for an unknown id", async () => {
    const id = scenario.rolloutDecisions[1]!.metadata.id;
    const json = await tide("audit", "decision", id, "--json", "--dir", given.dir);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Awaited<ReturnType<typeof traceDecision>>;
    expect(parsed.decision).toMatchObject({ id, action: "cooling_off" });
    expect(parsed.rollout?.rolloutId).toBe(scenario.rolloutId);
    const text = await tide("audit", "decision", id, "--dir", given.dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`by rollout ${scenario.rolloutId}`);
    expect(text.stdout).toContain(`training run ${scenario.runId}`);
    expect(text.stdout).toMatch(/dataset hash recomputed: matches/);
    const unknown = await tide("audit", "decision", "no-such-decision", "--dir", given.dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no decision no-such-decision/);
  });
});

describe("tide audit model", () => {
  it("shows where and when the version ran, how it got there and how many decisions it made", async () => {
    const lineage = await traceModel(places, scenario.version);
    expect(lineage.decisions).toBe(3);
    const edge1 = lineage.edges.find((e) => e.edge === "1")!;
    const edge2 = lineage.edges.find((e) => e.edge === "2")!;
    expect(edge1).toMatchObject({ decisions: 2, actions: { cooling_on: 1, cooling_off: 1 }, failures: [] });
    expect(edge1.periods).toEqual([expect.objectContaining({ rolloutId: scenario.rolloutId, cause: "rollout" })]);
    expect(edge1.periods[0]!.until).toBeUndefined();
    expect(edge2).toMatchObject({ decisions: 1, actions: { cooling_on: 1 }, periods: [expect.objectContaining({ cause: "local" })] });
    // Every inference of the version, counted on the edges themselves.
    for (const [edge, usage] of [["1", edge1], ["2", edge2]] as const) {
      const inferences = (await storedEvents(edgeNc.get(edge)!, edgeDomain(edge), "INFERENCES", subjects.inference(edge, "*"))).filter(
        (s) => s.event.type === "tide.inference.completed.v1" && s.event.data.modelVersion === scenario.version,
      );
      expect(usage.inferences).toBe(inferences.length);
    }
    expect(lineage.rollouts.map((r) => [r.rolloutId, r.outcome.status])).toEqual([[scenario.rolloutId, "completed"]]);
    expect(lineage.run?.runId).toBe(scenario.runId);
    const cli = await tide("audit", "model", "v404", "--dir", given.dir);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/no model v404/);
  });
});

describe("tide replay", () => {
  it("prints exactly the selected events as CSV, JSON lines or a table", async () => {
    const csv = await tide("replay", "INFERENCES", "--edge", "1", "--subject", subjects.decision("1", "probe-a"), "--csv", "--dir", given.dir);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = csv.stdout.trimEnd().split("\n");
    expect(rows[0]).toBe("seq,stored_at,subject,type,id,valid,data");
    expect(rows.slice(1).map((r) => r.split(",")[4])).toEqual(scenario.rolloutDecisions.map((d) => d.metadata.id));

    const json = await tide("replay", "READINGS", "--from-seq", "3", "--to-seq", "12", "--format", "json", "--dir", given.dir);
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { seq: number; valid: boolean; type: string });
    expect(lines.map((l) => l.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(lines.every((l) => l.valid && l.type === "tide.reading.recorded.v1")).toBe(true);

    // A time range: only what edge 1 decided after the rollout.
    const since = scenario.t.afterRollout.toISOString();
    const table = await tide("replay", "INFERENCES", "--edge", "1", "--subject", "tide.decision.1.>", "--since", since, "--until", scenario.t.end.toISOString(), "--dir", given.dir);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toContain("2 event(s) from edge-1 INFERENCES");
    expect(table.stdout.match(/tide\.decision\.made\.v1/g)).toHaveLength(2);

    const bad = await tide("replay", "READINGS", "--json", "--csv", "--dir", given.dir);
    expect(bad.code).toBe(2);
  });
});

describe("time travel", () => {
  it("tide status --as-of shows the registry and each edge's model as they were", async () => {
    const at = async (t: Date) => {
      const r = await tide("status", "--json", "--as-of", t.toISOString(), "--dir", given.dir);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { asOf: string; models: { production: string | null; models: unknown[] }; edgeModels: { edges: Array<{ node: string; version: string | null }> }; rollouts: { rollouts: Array<{ rollout_id: string; status: string }> } };
    };
    const before = await at(scenario.t.beforeTraining);
    expect(before.models).toEqual({ production: null, models: [] });
    expect(before.edgeModels.edges.map((e) => [e.node, e.version])).toEqual([["edge-1", "baseline"], ["edge-2", "baseline"]]);
    const trained = await at(scenario.t.beforeRollout);
    expect(trained.models.production).toBe(scenario.version);
    expect(trained.edgeModels.edges.find((e) => e.node === "edge-1")?.version).toBe("baseline");
    expect(trained.rollouts.rollouts).toEqual([]);
    const after = await at(scenario.t.end);
    expect(after.edgeModels.edges.find((e) => e.node === "edge-1")?.version).toBe(scenario.version);
    expect(after.edgeModels.edges.find((e) => e.node === "edge-2")?.version).toBe(scenario.version);
    expect(after.rollouts.rollouts.map((r) => [r.rollout_id, r.status])).toEqual([[scenario.rolloutId, "completed"]]);
  });

  it("tide project rebuild --as-of builds the registry as it was into a fresh file", async () => {
    const before = await tide("project", "rebuild", "models", "--as-of", scenario.t.beforeTraining.toISOString(), "--json", "--dir", given.dir);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toBe("");
    const after = await tide("project", "rebuild", "models", "--as-of", scenario.t.end.toISOString(), "--json", "--dir", given.dir);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout.trimEnd().split("\n").map((l) => (JSON.parse(l) as { version: string }).version)).toEqual([scenario.version]);
  });
});

describe("tide audit export", () => {
  it("bundles every event stored in the window with the lineage of its decisions", async () => {
    const chunks: string[] = [];
    const since = scenario.t.afterRollout;
    const until = scenario.t.end;
    const counts = await exportBundle(places, { since, until, write: (c) => void chunks.push(c) });
    const bundle = JSON.parse(chunks.join("")) as AuditBundle;
    expect(bundle.format).toBe("tide-audit-bundle/1");
    // Each stream's events are exactly what a read of that window gives.
    for (const block of bundle.streams) {
      const nc = block.domain === CLOUD_DOMAIN ? hub : edgeNc.get(block.domain.replace(/^edge-/, ""))!;
      const seqs: number[] = [];
      for await (const m of readMessages(nc, { stream: block.stream, domain: block.domain, since, until })) seqs.push(m.seq);
      expect(block.events.map((e) => e.seq), `${block.domain} ${block.stream}`).toEqual(seqs);
    }
    expect(counts.events).toBe(bundle.streams.reduce((n, s) => n + s.count, 0));
    const decisions = new Map(bundle.lineage.decisions.map((d) => [d.id, d]));
    for (const d of scenario.rolloutDecisions) expect(decisions.get(d.metadata.id)).toMatchObject({ modelVersion: scenario.version, rolloutId: scenario.rolloutId, activation: "rollout" });
    expect(decisions.get(scenario.localDecision!.metadata.id)).toMatchObject({ activation: "local" });
    expect(decisions.has(scenario.baselineDecision!.metadata.id)).toBe(false);
    expect(bundle.lineage.models.map((m) => [m.version, m.run?.runId])).toEqual([[scenario.version, scenario.runId]]);

    const file = join(given.dir, "bundle.json");
    const cli = await tide("audit", "export", "--since", since.toISOString(), "--until", until.toISOString(), "--out", file, "--dir", given.dir);
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(readFileSync(file, "utf8")) as AuditBundle).streams.map((s) => [s.domain, s.stream, s.count])).toEqual(bundle.streams.map((s) => [s.domain, s.stream, s.count]));
  });
});

describe("tide audit verify", () => {
  const violations = (report: VerifyReport) => report.findings.filter((f) => f.severity === "violation");

  it("passes on the untouched fleet", async () => {
    const report = await verifyFleet(places, { settleMs: 5000 });
    expect(violations(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.artifacts).toBe(1);
    expect(report.checked.union).toBeGreaterThanOrEqual(2 * scenario.trainingReadings);
    const cli = await tide("audit", "verify", "--dir", given.dir);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/: OK/);
  });

  it("catches a message deleted from the cloud READINGS, a tampered artifact and an invalid stored event", async () => {
    const jsm = await hub.jetstreamManager({ domain: CLOUD_DOMAIN });
    const victim = await jsm.streams.getMessage("READINGS", { seq: 5 });
    const victimId = victim.header.get("Nats-Msg-Id");
    await jsm.streams.deleteMessage("READINGS", 5);

    const js = hub.jetstream({ domain: CLOUD_DOMAIN });
    const store = await js.views.os(MODELS_BUCKET);
    const bytes = (await store.getBlob(scenario.version))!;
    const tampered = new Uint8Array(bytes);
    tampered[tampered.length - 1]! ^= 0xff;
    await store.putBlob({ name: scenario.version }, tampered);

    // Bytes that are no event, stored on a control stream's subject (as a buggy or hostile writer could).
    await js.publish("tide.task.forged", new TextEncoder().encode("not an event"));

    const report = await verifyFleet(places, { settleMs: 2000 });
    expect(report.ok).toBe(false);
    const found = violations(report).map((f) => [f.check, f.domain, f.stream ?? ""]);
    expect(found).toEqual(
      expect.arrayContaining([
        ["gaps", "cloud", "READINGS"],
        ["union", "cloud", "READINGS"],
        ["artifacts", "cloud", `OBJ_${MODELS_BUCKET}`],
        ["schema", "cloud", "TASKS"],
      ]),
    );
    expect(found).toHaveLength(4);
    const gap = violations(report).find((f) => f.check === "gaps")!;
    expect(gap.details).toEqual({ deleted: [5] });
    const lost = violations(report).find((f) => f.check === "union")!;
    expect(lost.details?.ids).toEqual([victimId]);
    expect(lost.message).toMatch(/missing \(lost\)/);
    const artifact = violations(report).find((f) => f.check === "artifacts")!;
    expect(artifact.message).toContain(`model ${scenario.version}`);
    expect(artifact.details).toMatchObject({ published: { size: bytes.byteLength }, stored: { size: bytes.byteLength } });

    const cli = await tide("audit", "verify", "--json", "--settle", "1", "--dir", given.dir);
    expect(cli.code).toBe(1);
    expect((JSON.parse(cli.stdout) as VerifyReport).findings.filter((f) => f.severity === "violation")).toHaveLength(4);
  });
});
