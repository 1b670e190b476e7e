import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { exportBundle, openPlaces, traceDecision, traceModel, verifyFleet, type AuditBundle, type AuditPlaces, type VerifyReport } from "../src/audit/index.ts";
import type { ReplayLine } from "../src/replay/index.ts";
import { startCloudServices, type CloudServices } from "../src/cloud/cloud-services.ts";
import { createEvent, readingRecorded, subjects, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { createRolloutController, type RolloutController } from "../src/rollout/controller.ts";
import { requestRollout } from "../src/rollout/request.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import { countReadingsAfter } from "../src/training/schedule.ts";
import { MODELS_BUCKET } from "../src/training/publish.ts";
import { decisionsOf, sendTemperatures, startWave, storedEvents, tide, tideTo, trainForced } from "./audit-support.ts";
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
  t: {} as Record<"beforeEdges" | "start" | "beforeTraining" | "beforeRollout" | "afterRollout" | "beforeTask" | "end", Date>,
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
  /** Edge 2's READINGS seqs of the readings that led to the local decision. */
  localSeqs: [] as number[],
  /** The event ids of the readings after the rollout, per edge (edge 1: rolloutSeqs, edge 2: localSeqs). */
  readingIds: new Map<string, string[]>(),
  /** Edge 2's report of its local activation (edge REPORTS, sourced into the cloud MODELS). */
  localActivationId: "",
  /** The aggregate task run after the rollout: its id, the node that ran it, its TASKS event ids. */
  task: { id: "", node: "", eventIds: [] as string[] },
  /** The heartbeats that reported the new model, one per edge. */
  heartbeatIds: [] as string[],
};

const count = (key: string, n = 1) => scenario.perDevice.set(key, (scenario.perDevice.get(key) ?? 0) + n);
const phases = (...parts: number[]) => parts.flatMap((t) => Array<number>(PHASE).fill(t));

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  hub = await given.connect(CLOUD_DOMAIN);
  scenario.t.beforeEdges = new Date();
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

  // The time-travel specs read each edge's model from its heartbeats: the moment taken must follow one from every edge.
  for (const edge of EDGES) {
    const node = edgeDomain(edge);
    await eventually(
      () => storedEvents(hub, CLOUD_DOMAIN, "NODES", subjects.node(node)),
      (es) => es.some((e) => e.event.type === "tide.node.heartbeat.v1" && e.event.data.modelVersion === "baseline"),
      30_000,
      `a heartbeat of ${node} in the cloud`,
    );
  }
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
  // The wave's last reading in the cloud (sources keep order: all before it too), so the window after the rollout holds none of them.
  const lastWave = (await storedEvents(edgeNc.get("1")!, edgeDomain("1"), "READINGS", "tide.reading.1.wave-1.>")).at(-1)!.event.metadata.id;
  await eventually(() => storedEvents(hub, CLOUD_DOMAIN, "READINGS", "tide.reading.1.wave-1.>"), (es) => es.at(-1)?.event.metadata.id === lastWave, 10_000, "the wave's readings in the cloud");
  scenario.t.afterRollout = new Date();

  // Edge 1 (by rollout): cold, hot, cold -> the model switches cooling on, then off.
  scenario.rolloutSeqs = await sendTemperatures(edgeNc.get("1")!, "1", "probe-a", phases(LOW, HIGH, LOW));
  scenario.rolloutDecisions = await decisionsOf(edgeNc.get("1")!, "1", "probe-a", 2);

  // Edge 2 (activated locally, no rollout): cold, hot -> cooling on by the model.
  const published = (await storedEvents(hub, CLOUD_DOMAIN, "MODELS", subjects.model(scenario.version))).map((s) => s.event).find((e) => e.type === "tide.model.published.v1") as TideEvent<"tide.model.published.v1">;
  const { artifact } = published.data;
  await runtimes.get("2")!.activateModel({ bucket: artifact.bucket, name: artifact.name, domain: CLOUD_DOMAIN }, { sha256: artifact.digest.sha256, size: artifact.digest.size, version: scenario.version });
  scenario.localSeqs = await sendTemperatures(edge2, "2", "probe-c", phases(LOW, HIGH));
  scenario.localDecision = (await decisionsOf(edge2, "2", "probe-c", 1))[0];
  const isLocalActivation = (e: TideEvent) => e.type === "tide.model.activated.v1" && e.data.version === scenario.version && e.data.cause === "local";
  const localReport = await eventually(() => storedEvents(edge2, edgeDomain("2"), "REPORTS"), (es) => es.some((e) => isLocalActivation(e.event)), 10_000, "edge 2's local activation report");
  scenario.localActivationId = localReport.find((e) => isLocalActivation(e.event))!.event.metadata.id;

  // A task on edge 1's data: the scheduler places it, a node runs it.
  scenario.t.beforeTask = new Date();
  const { taskId } = await submitTask({ kind: "aggregate", data: { edge: "1" } }, { nc: hub, edges: EDGES });
  const taskEvents = await eventually(
    () => storedEvents(hub, CLOUD_DOMAIN, "TASKS", subjects.task(taskId)),
    (es) => es.some((e) => e.event.type === "tide.task.completed.v1" || e.event.type === "tide.task.abandoned.v1"),
    30_000,
    `task ${taskId} finished`,
  );
  const completed = taskEvents.map((e) => e.event).find((e) => e.type === "tide.task.completed.v1");
  if (completed?.type !== "tide.task.completed.v1") throw new Error(`task ${taskId} did not complete: ${JSON.stringify(taskEvents.at(-1)?.event)}`);
  scenario.task = { id: taskId, node: completed.data.node, eventIds: taskEvents.map((e) => e.event.metadata.id) };

  // The heartbeats have reported the new models by now.
  for (const node of ["edge-1", "edge-2"]) {
    const reported = (e: TideEvent | undefined) => e?.type === "tide.node.heartbeat.v1" && e.data.modelVersion === scenario.version;
    const beat = await eventually(async () => (await storedEvents(hub, CLOUD_DOMAIN, "NODES", subjects.node(node))).at(-1)?.event, reported, 10_000, `${node}'s heartbeat with the new model`);
    scenario.heartbeatIds.push(beat!.metadata.id);
  }
  // The readings sent after the rollout, by id, and the cloud holding them and the local activation report.
  for (const [edge, seqs] of [["1", scenario.rolloutSeqs], ["2", scenario.localSeqs]] as const) {
    const wanted = new Set(seqs);
    const stored = await storedEvents(edgeNc.get(edge)!, edgeDomain(edge), "READINGS");
    scenario.readingIds.set(edge, stored.filter((e) => wanted.has(e.seq)).map((e) => e.event.metadata.id));
  }
  const upThere = [...scenario.readingIds.values()].flat();
  await eventually(() => storedEvents(hub, CLOUD_DOMAIN, "READINGS"), (es) => upThere.every((id) => es.some((e) => e.event.metadata.id === id)), 10_000, "the readings after the rollout in the cloud");
  await eventually(() => storedEvents(hub, CLOUD_DOMAIN, "MODELS", subjects.report("2")), (es) => es.some((e) => e.event.metadata.id === scenario.localActivationId), 10_000, "edge 2's local activation report in the cloud");
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

  it("on the command line: --json for machines, the same story for people", async () => {
    const json = await tide("audit", "model", scenario.version, "--json", "--dir", given.dir);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Awaited<ReturnType<typeof traceModel>>;
    expect(parsed).toMatchObject({ version: scenario.version, decisions: 3, model: { version: scenario.version, runId: scenario.runId, published: true }, run: { runId: scenario.runId } });
    expect(parsed.edges.map((e) => [e.edge, e.decisions, e.actions, e.periods.map((p) => [p.cause, p.rolloutId ?? null, p.until ?? null])])).toEqual([
      ["1", 2, { cooling_on: 1, cooling_off: 1 }, [["rollout", scenario.rolloutId, null]]],
      ["2", 1, { cooling_on: 1 }, [["local", null, null]]],
    ]);
    expect(parsed.rollouts.map((r) => [r.rolloutId, r.outcome.status, r.stages.map((s) => s.edges)])).toEqual([[scenario.rolloutId, "completed", [["1"]]]]);

    const text = await tide("audit", "model", scenario.version, "--dir", given.dir);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^model ${scenario.version}: published \\S+, run ${scenario.runId}, parent none$`));
    expect(lines).toContain(`decisions made with ${scenario.version}: 3 on the edges; 0 edge inference(s) answered by the cloud with it (joint inference)`);
    const edge1 = parsed.edges.find((e) => e.edge === "1")!;
    expect(lines).toContain(`edge 1: ${edge1.inferences} inferences from ${edge1.firstInferenceAt} to ${edge1.lastInferenceAt}, 2 decision(s) (cooling_on 1, cooling_off 1)`);
    expect(lines).toContain(`  active from ${edge1.periods[0]!.from} (still active); rollout ${scenario.rolloutId} (rollout)`);
    const edge2 = parsed.edges.find((e) => e.edge === "2")!;
    expect(lines).toContain(`edge 2: ${edge2.inferences} inferences from ${edge2.firstInferenceAt} to ${edge2.lastInferenceAt}, 1 decision(s) (cooling_on 1)`);
    expect(lines).toContain(`  active from ${edge2.periods[0]!.from} (still active); no rollout (local)`);
    expect(lines.some((l) => l.startsWith(`rollout ${scenario.rolloutId}: all of ${scenario.version}`) && l.includes("by audit-test; completed"))).toBe(true);
    expect(lines.some((l) => /^ {2}stage 0 \S+ \[1\]: started /.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith(`training run ${scenario.runId}: reason manual`))).toBe(true);
    expect(lines).toContain(`data: cloud READINGS seq 1..${scenario.trainingReadings} holds ${scenario.trainingReadings} readings now (as recorded)`);
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

    // A time range: only what edge 1 decided after the rollout, each row with its seq and event id.
    const since = scenario.t.afterRollout.toISOString();
    const table = await tide("replay", "INFERENCES", "--edge", "1", "--subject", "tide.decision.1.>", "--since", since, "--until", scenario.t.end.toISOString(), "--dir", given.dir);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...tableRows] = table.stdout.trimEnd().split("\n");
    expect(header!.trim().split(/\s{2,}/)).toEqual(["SEQ", "STORED AT", "SUBJECT", "TYPE", "ID", "DATA"]);
    const decisions = await storedEvents(edgeNc.get("1")!, edgeDomain("1"), "INFERENCES", subjects.decision("1", "probe-a"));
    const seqOf = new Map(decisions.map((d) => [d.event.metadata.id, d.seq]));
    expect(tableRows.map((r) => r.trim().split(/\s+/).slice(0, 5))).toEqual(
      scenario.rolloutDecisions.map((d) => [String(seqOf.get(d.metadata.id)), expect.any(String), subjects.decision("1", "probe-a"), "tide.decision.made.v1", d.metadata.id]),
    );
    // Not a terminal: no progress bar, only the closing count.
    expect(table.stderr).toBe("2 event(s) from edge-1 INFERENCES\n");
    expect(json.stderr).toBe("");

    const bad = await tide("replay", "READINGS", "--json", "--csv", "--dir", given.dir);
    expect(bad.code).toBe(2);
  });

  it("fails with a message, exit 1, when stdout cannot be written (not a reader that went away)", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const run = await tideTo(full, "replay", "READINGS", "--json", "--dir", given.dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^tide replay: .*cannot write the replay to stdout: ENOSPC/);
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      closeSync(full);
    }
  });
});

describe("time travel", () => {
  interface StatusJson {
    asOf: string;
    models: { production: string | null; models: unknown[] };
    edgeModels: { edges: Array<{ node: string; version: string | null }> };
    rollouts: { rollouts: Array<{ rollout_id: string; status: string }> };
    nodes: { windowMs: number; nodes: Array<{ node: string; kind: string; status: string; runs: number }> };
    tasks: { tasks: Array<{ taskId: string; kind: string; status: string; node: string | null }> };
  }
  const statusAt = async (t: Date) => {
    const r = await tide("status", "--json", "--as-of", t.toISOString(), "--dir", given.dir);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusJson;
  };
  // Not the status: with 300 ms heartbeats, a busy moment (training in this process) can have a node declared lost until its next beat.
  const nodesOf = (s: StatusJson) => s.nodes.nodes.map((n) => [n.node, n.kind, n.runs]);
  const runsOn = (node: string) => (scenario.task.node === node ? 1 : 0);

  it("tide status --as-of shows the registry, each edge's model, the nodes and the tasks as they were", async () => {
    const noEdges = await statusAt(scenario.t.beforeEdges);
    expect(noEdges.nodes.nodes).toEqual([]);
    expect(noEdges.tasks.tasks).toEqual([]);
    expect(noEdges.edgeModels.edges).toEqual([]);

    const before = await statusAt(scenario.t.beforeTraining);
    expect(before.models).toEqual({ production: null, models: [] });
    expect(before.edgeModels.edges.map((e) => [e.node, e.version])).toEqual([["edge-1", "baseline"], ["edge-2", "baseline"]]);
    expect(nodesOf(before)).toEqual([["edge-1", "edge", 0], ["edge-2", "edge", 0]]);
    expect(before.tasks.tasks).toEqual([]);
    const trained = await statusAt(scenario.t.beforeRollout);
    expect(trained.models.production).toBe(scenario.version);
    expect(trained.edgeModels.edges.find((e) => e.node === "edge-1")?.version).toBe("baseline");
    expect(trained.rollouts.rollouts).toEqual([]);
    const untasked = await statusAt(scenario.t.beforeTask);
    expect(untasked.tasks.tasks).toEqual([]);
    expect(nodesOf(untasked)).toEqual([["edge-1", "edge", 0], ["edge-2", "edge", 0]]);
    const after = await statusAt(scenario.t.end);
    expect(after.edgeModels.edges.find((e) => e.node === "edge-1")?.version).toBe(scenario.version);
    expect(after.edgeModels.edges.find((e) => e.node === "edge-2")?.version).toBe(scenario.version);
    expect(after.rollouts.rollouts.map((r) => [r.rollout_id, r.status])).toEqual([[scenario.rolloutId, "completed"]]);
    expect(after.tasks.tasks.map((t) => [t.taskId, t.kind, t.status, t.node])).toEqual([[scenario.task.id, "aggregate", "completed", scenario.task.node]]);
    expect(nodesOf(after)).toEqual([["edge-1", "edge", runsOn("edge-1")], ["edge-2", "edge", runsOn("edge-2")]]);

    // For people: the same sections, titled, with the task and the nodes in them.
    const text = await tide("status", "--as-of", scenario.t.end.toISOString(), "--dir", given.dir);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toBe(`The fleet as of ${scenario.t.end.toISOString()} (from the events stored until then)`);
    expect(lines.some((l) => /^ {2}TASK +KIND +PRI +STATUS +NODE/.test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`^ {2}${scenario.task.id} +aggregate +\\d +completed +${scenario.task.node} `).test(l))).toBe(true);
    for (const node of ["edge-1", "edge-2"]) expect(lines.some((l) => new RegExp(`^ {2}${node} +edge +\\S+ +\\d+ +\\d+ +${runsOn(node)} `).test(l)), node).toBe(true);
  });

  interface Rebuilt {
    projection: string;
    asOf?: string;
    tables: Record<string, Array<Record<string, unknown>>>;
  }
  const rebuild = async (name: string, t: Date) => {
    const r = await tide("project", "rebuild", name, "--as-of", t.toISOString(), "--json", "--dir", given.dir);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Rebuilt;
  };

  it("tide project rebuild --as-of builds the registry as it was, every table of it, into a fresh file", async () => {
    const before = await rebuild("models", scenario.t.beforeTraining);
    expect(before).toMatchObject({ projection: "models", asOf: scenario.t.beforeTraining.toISOString(), tables: { models: [], model_edges: [] } });
    const trained = await rebuild("models", scenario.t.beforeRollout);
    expect(trained.tables.models!.map((m) => [m.version, m.status])).toEqual([[scenario.version, "published"]]);
    expect(trained.tables.model_edges).toEqual([]);
    const after = await rebuild("models", scenario.t.end);
    expect(Object.keys(after.tables)).toEqual(["models", "model_edges"]);
    expect(after.tables.models!.map((m) => m.version)).toEqual([scenario.version]);
    // Which model each edge ran as of T: edge 1 by the rollout, edge 2 activated locally.
    expect(after.tables.model_edges!.map((e) => [e.edge, e.version, e.rollout_id, e.status])).toEqual([
      ["1", scenario.version, scenario.rolloutId, "active"],
      ["2", scenario.version, null, "active"],
    ]);

    const text = await tide("project", "rebuild", "models", "--as-of", scenario.t.end.toISOString(), "--dir", given.dir);
    expect(text.code, text.stderr).toBe(0);
    const blocks = text.stdout.trimEnd().split("\n\n");
    expect(blocks.map((b) => b.split("\n")[0])).toEqual(["models (1 row(s))", "model_edges (2 row(s))"]);
    const edgeRows = blocks[1]!.split("\n").slice(1);
    expect(edgeRows[0]!.trim().split(/\s+/).slice(0, 4)).toEqual(["edge", "version", "previous_version", "rollout_id"]);
    expect(edgeRows.slice(1).map((r) => r.trim().split(/\s+/).slice(0, 5))).toEqual([
      ["1", scenario.version, "baseline", scenario.rolloutId, "active"],
      ["2", scenario.version, "baseline", "-", "active"],
    ]);
    expect(text.stderr).toMatch(/row\(s\): models 1, model_edges 2/);
  });

  it("tide project rebuild --as-of prints every table of another projection too (rollouts and their stages)", async () => {
    const before = await rebuild("rollouts", scenario.t.beforeRollout);
    expect(before.tables).toEqual({ rollouts: [], rollout_stages: [] });
    const after = await rebuild("rollouts", scenario.t.end);
    expect(after.tables.rollouts!.map((r) => [r.rollout_id, r.version, r.status])).toEqual([[scenario.rolloutId, scenario.version, "completed"]]);
    expect(after.tables.rollout_stages!.map((s) => [s.rollout_id, JSON.parse(String(s.edges)), s.completed_at !== null])).toEqual([[scenario.rolloutId, ["1"], true]]);
    const text = await tide("project", "rebuild", "rollouts", "--as-of", scenario.t.end.toISOString(), "--dir", given.dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.trimEnd().split("\n\n").map((b) => b.split("\n")[0])).toEqual(["rollouts (1 row(s))", "rollout_stages (1 row(s))"]);
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
    expect(bundle.unreachable).toEqual([]);
    expect(bundle.lineageErrors).toEqual([]);

    const isReading = (e: ReplayLine) => e.type === "tide.reading.recorded.v1";
    // What the scenario did in the window, by event id: each of these streams must be in the bundle and hold them.
    const expected: Array<{ domain: string; stream: string; ids: string[]; exact?: (e: ReplayLine) => boolean }> = [
      { domain: "edge-1", stream: "READINGS", ids: scenario.readingIds.get("1")!, exact: isReading },
      { domain: "edge-1", stream: "INFERENCES", ids: scenario.rolloutDecisions.map((d) => d.metadata.id), exact: (e) => e.type === "tide.decision.made.v1" },
      { domain: "edge-1", stream: "UPLINK", ids: scenario.readingIds.get("1")!, exact: isReading },
      { domain: "edge-2", stream: "READINGS", ids: scenario.readingIds.get("2")!, exact: isReading },
      { domain: "edge-2", stream: "INFERENCES", ids: [scenario.localDecision!.metadata.id], exact: (e) => e.type === "tide.decision.made.v1" },
      { domain: "edge-2", stream: "UPLINK", ids: scenario.readingIds.get("2")!, exact: isReading },
      { domain: "edge-2", stream: "REPORTS", ids: [scenario.localActivationId] },
      { domain: "cloud", stream: "READINGS", ids: [...scenario.readingIds.get("1")!, ...scenario.readingIds.get("2")!], exact: isReading },
      { domain: "cloud", stream: "MODELS", ids: [scenario.localActivationId] },
      { domain: "cloud", stream: "TASKS", ids: scenario.task.eventIds, exact: () => true },
      { domain: "cloud", stream: "NODES", ids: scenario.heartbeatIds },
    ];
    for (const want of expected) {
      const where = `${want.domain} ${want.stream}`;
      const block = bundle.streams.find((b) => b.domain === want.domain && b.stream === want.stream);
      expect(block, `${where} is missing from the bundle`).toBeDefined();
      const ids = block!.events.map((e) => e.id);
      expect(ids, where).toEqual(expect.arrayContaining(want.ids));
      if (want.exact) expect(block!.events.filter(want.exact).map((e) => e.id).sort(), `${where}: exactly the scenario's`).toEqual([...want.ids].sort());
      expect(block!.count, where).toBe(block!.events.length);
    }
    // Nothing stored outside the window, every stream of every place listed once.
    for (const block of bundle.streams) {
      for (const e of block.events) expect(Date.parse(e.storedAt) >= since.getTime() && Date.parse(e.storedAt) <= until.getTime(), `${block.domain} ${block.stream} seq ${e.seq} at ${e.storedAt}`).toBe(true);
    }
    expect(new Set(bundle.streams.map((b) => `${b.domain} ${b.stream}`)).size).toBe(bundle.streams.length);
    expect(counts.events).toBe(bundle.streams.reduce((n, s) => n + s.count, 0));

    const decisions = new Map(bundle.lineage.decisions.map((d) => [d.id, d]));
    expect([...decisions.keys()].sort()).toEqual([...scenario.rolloutDecisions.map((d) => d.metadata.id), scenario.localDecision!.metadata.id].sort());
    for (const d of scenario.rolloutDecisions) expect(decisions.get(d.metadata.id)).toMatchObject({ modelVersion: scenario.version, rolloutId: scenario.rolloutId, activation: "rollout" });
    expect(decisions.get(scenario.localDecision!.metadata.id)).toMatchObject({ activation: "local" });
    expect(bundle.lineage.models.map((m) => [m.version, m.run?.runId])).toEqual([[scenario.version, scenario.runId]]);

    const file = join(given.dir, "bundle.json");
    const cli = await tide("audit", "export", "--since", since.toISOString(), "--until", until.toISOString(), "--out", file, "--dir", given.dir);
    expect(cli.code, cli.stderr).toBe(0);
    const written = JSON.parse(readFileSync(file, "utf8")) as AuditBundle;
    expect(written.streams.map((s) => [s.domain, s.stream, s.events.map((e) => e.id)])).toEqual(bundle.streams.map((s) => [s.domain, s.stream, s.events.map((e) => e.id)]));
    expect(written.lineageErrors).toEqual([]);
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

  it("does not call the edges' events lost when the cloud READINGS dropped them by its own retention limit", async () => {
    const jsm = await hub.jetstreamManager({ domain: CLOUD_DOMAIN });
    const { config, state } = await jsm.streams.info("READINGS");
    // Keep all but the oldest 40: both edges' oldest readings go (edge 2's probe-b first, then edge 1's training data), and the deleted seq 5 with them.
    const keep = state.messages - 40;
    await jsm.streams.update("READINGS", { ...config, max_msgs: keep });
    const trimmed = await jsm.streams.info("READINGS");
    expect(trimmed.state.messages).toBe(keep);

    const report = await verifyFleet(places, { settleMs: 2000 });
    const readings = report.findings.filter((f) => f.domain === "cloud" && f.stream === "READINGS");
    expect(readings.filter((f) => f.severity === "violation")).toEqual([]);
    expect(readings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: "gaps", severity: "warning", message: expect.stringMatching(new RegExp(`removed by retention \\(max_msgs ${keep}\\)`)) }),
        expect.objectContaining({ check: "union", severity: "warning", message: expect.stringMatching(new RegExp(`of edge 1's UPLINK are older than what the READINGS still keeps from it \\(edge seq < \\d+\\): trimmed by retention \\(max_msgs ${keep}\\)`)) }),
        expect.objectContaining({ check: "union", severity: "warning", message: expect.stringMatching(/of edge 2's UPLINK are older than what the READINGS still keeps from it/) }),
      ]),
    );
    const removed = readings.filter((f) => f.check === "union").reduce((n, f) => n + Number(/^(\d+) event/.exec(f.message)?.[1] ?? 0), 0);
    expect(removed).toBe(trimmed.state.first_seq - 1);
    // What is left is what the previous test broke, elsewhere.
    expect(violations(report).map((f) => [f.check, f.stream]).sort()).toEqual([["artifacts", `OBJ_${MODELS_BUCKET}`], ["schema", "TASKS"]]);
  });
});
