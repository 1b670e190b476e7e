import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeRuntime } from "../edge-runtime/runtime.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import type { EventData } from "../src/events/catalogue.ts";
import { silentLogger } from "../src/log.ts";
import { selectBackend } from "../src/model/backend.ts";
import { startNodeMonitor } from "../src/nodes/node-monitor.ts";
import { readRolloutState, requestRollback, requestRollout } from "../src/rollout/request.ts";
import type { RolloutController } from "../src/rollout/controller.ts";
import { readStream } from "../src/store/read-stream.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventsOf, ofType } from "./edge-support.ts";
import { eventually, givenTopology } from "./harness.ts";
import { publishTestModel, rolloutWhen, startController, startEdges, startFeeding, terminal, TEST_CRITERIA } from "./rollout-support.ts";

const EDGES = ["1", "2", "3"];
let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: NatsConnection;
let edges: Map<string, EdgeRuntime>;
let controller: RolloutController;
let feeding: ReturnType<typeof startFeeding>;
const devices = new Map<string, NatsConnection>();

/** What an edge reported to the cloud (MODELS, sourced from its REPORTS) about a rollout. */
async function reportsOf(rolloutId: string) {
  const out: Array<{ type: string; edge: string; data: Record<string, unknown> }> = [];
  for await (const { event } of readStream(cloud, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: "tide.report.>" })) {
    const data = event.data as EventData<"tide.model.activated.v1">;
    if (data.rolloutId === rolloutId) out.push({ type: event.type, edge: data.edge, data: event.data as Record<string, unknown> });
  }
  return out;
}

/** Each ROLLOUTS event type of a rollout, in order. */
async function historyOf(rolloutId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { event } of readStream(cloud, { stream: "ROLLOUTS", domain: CLOUD_DOMAIN, subject: `tide.rollout.${rolloutId}` })) out.push(event.type.replace(/^tide\.rollout\.|\.v1$/g, ""));
  return out;
}

const active = (edge: string) => edges.get(edge)!.engine.activeVersion();

/** The process's tensor count once it stopped moving (in-flight predictions answered). */
async function settledTensorCount(tf: { memory(): { numTensors: number } }): Promise<number> {
  let last = -1;
  const settled = await eventually(
    async () => {
      await sleep(250);
      const now = tf.memory().numTensors;
      const same = now === last;
      last = now;
      return same ? now : -1;
    },
    (n) => n >= 0,
    20_000,
    "a steady tensor count",
  );
  return settled;
}

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  cloud = await given.connect(CLOUD_DOMAIN);
  edges = await startEdges(given.topology.file, EDGES);
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: EDGES } });
  controller = await startController(cloud, EDGES, "controller-a");
  for (const edge of EDGES) devices.set(edge, await given.connect(edge));
  feeding = startFeeding(devices);
}, 120_000);

afterAll(async () => {
  await feeding?.stop();
  await controller?.stop();
  for (const runtime of edges?.values() ?? []) await runtime.stop();
  await given?.cleanup();
});

describe("model rollout", () => {
  it("rolls a good model out canary first, then to the rest, and every edge serves it", async () => {
    await publishTestModel(cloud, given.dir, "m-good-1");
    const { rolloutId } = await requestRollout(cloud, { version: "m-good-1", strategy: "canary" }, "test");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status, done.outcome?.reason).toBe("completed");
    expect(done.plan!.stages).toEqual([
      { name: "canary", edges: ["1"] },
      { name: "rest", edges: ["2", "3"] },
    ]);
    expect(await historyOf(rolloutId)).toEqual(["requested", "planned", "stage.started", "stage.completed", "stage.started", "stage.completed", "completed"]);
    for (const edge of EDGES) expect(active(edge)).toBe("m-good-1");

    // The canary's evidence: it scored predictions of the new model against those of the baseline it replaced.
    const reports = await reportsOf(rolloutId);
    const canaryObserved = reports.find((r) => r.edge === "1" && r.type === "tide.model.observed.v1")!.data as EventData<"tide.model.observed.v1">;
    expect(canaryObserved.current.version).toBe("m-good-1");
    expect(canaryObserved.current.inferences).toBeGreaterThanOrEqual(TEST_CRITERIA.minInferences);
    expect(canaryObserved.previous?.version).toBe("baseline");
    // The rest started only after the canary passed.
    const canaryActivated = reports.find((r) => r.edge === "1" && r.type === "tide.model.activated.v1")!;
    expect(canaryActivated.data).toMatchObject({ version: "m-good-1", previousVersion: "baseline", cause: "rollout" });
    expect(reports.filter((r) => r.type === "tide.model.activated.v1").map((r) => r.edge).sort()).toEqual(EDGES);
  }, 120_000);

  it("a corrupted artifact fails activation on the canary and is rolled back; the old model keeps serving", async () => {
    await publishTestModel(cloud, given.dir, "m-corrupt", { tamper: true });
    const { rolloutId } = await requestRollout(cloud, { version: "m-corrupt", strategy: "canary" }, "test");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status).toBe("rolled_back");
    expect(done.outcome!.reason).toMatch(/activation failed on edge 1: .*(sha256|digest)/);
    const reports = await reportsOf(rolloutId);
    expect(reports.map((r) => [r.type, r.edge])).toEqual([["tide.model.activation_failed.v1", "1"]]);
    expect(await historyOf(rolloutId)).toEqual(["requested", "planned", "stage.started", "rolled_back"]);
    for (const edge of EDGES) expect(active(edge)).toBe("m-good-1");
  }, 120_000);

  it("a model whose warm-up fails is refused on the canary and disposed there; the old model keeps serving", async () => {
    const { tf } = await selectBackend({ logger: silentLogger });
    await publishTestModel(cloud, given.dir, "m-nan", { nonFinite: true });
    // Idle edges allocate no tensors: the count before and after the refused activation must match.
    await feeding.stop();
    try {
      const before = await settledTensorCount(tf);
      const { rolloutId } = await requestRollout(cloud, { version: "m-nan", strategy: "canary" }, "test");
      const done = await rolloutWhen(cloud, rolloutId, terminal);
      expect(done.status).toBe("rolled_back");
      expect(done.outcome!.reason).toMatch(/activation failed on edge 1: .*not finite/);
      expect((await reportsOf(rolloutId)).map((r) => [r.type, r.edge])).toEqual([["tide.model.activation_failed.v1", "1"]]);
      expect(await settledTensorCount(tf)).toBe(before);
      for (const edge of EDGES) expect(active(edge)).toBe("m-good-1");
    } finally {
      feeding = startFeeding(devices);
    }
  }, 120_000);

  it("a regression on the canary is rolled back before the other edges get it", async () => {
    await publishTestModel(cloud, given.dir, "m-bad", { offsetC: 25 });
    const { rolloutId } = await requestRollout(cloud, { version: "m-bad", strategy: "canary" }, "test");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status).toBe("rolled_back");
    expect(done.outcome!.reason).toMatch(/stage canary regressed on 1 .*error/);
    expect(done.outcome!.toVersion).toBe("m-good-1");
    // Edge 1 goes back once it reads the rollback, after the controller stored it: wait for its report.
    const reports = await eventually(() => reportsOf(rolloutId), (found) => found.length >= 3, 30_000, "edge 1's rollback report");
    // Edge 1 activated it, observed it, and went back; edges 2 and 3 never saw it.
    expect(reports.map((r) => [r.type, r.edge, (r.data as { cause?: string }).cause ?? ""])).toEqual([
      ["tide.model.activated.v1", "1", "rollout"],
      ["tide.model.observed.v1", "1", ""],
      ["tide.model.activated.v1", "1", "rollback"],
    ]);
    const observed = reports[1]!.data as EventData<"tide.model.observed.v1">;
    expect(observed.current.maeC! / observed.previous!.maeC!).toBeGreaterThan(TEST_CRITERIA.maxErrorRatio);
    await eventually(() => active("1"), (v) => v === "m-good-1", 30_000, "edge 1 back on m-good-1");
    expect(reports.find((r) => r.type === "tide.model.activated.v1" && r.data.cause === "rollback")!.data).toMatchObject({ version: "m-good-1", previousVersion: "m-bad" });
    for (const edge of EDGES) expect(active(edge)).toBe("m-good-1");
  }, 120_000);

  it("a manual rollback returns every edge to the version it ran before", async () => {
    await publishTestModel(cloud, given.dir, "m-good-2");
    const { rolloutId } = await requestRollout(cloud, { version: "m-good-2", strategy: "all" }, "test");
    expect((await rolloutWhen(cloud, rolloutId, terminal)).status).toBe("completed");
    for (const edge of EDGES) expect(active(edge)).toBe("m-good-2");

    const back = await requestRollback(cloud, { requestedBy: "test" });
    expect(back).toEqual({ rolloutId, version: "m-good-2", toVersion: "m-good-1" });
    for (const edge of EDGES) await eventually(() => active(edge), (v) => v === "m-good-1", 30_000, `edge ${edge} back on m-good-1`);
    const reverts = (await eventually(() => reportsOf(rolloutId), (rs) => rs.filter((r) => r.data.cause === "rollback").length === 3)).filter((r) => r.data.cause === "rollback");
    expect(reverts.map((r) => [r.edge, r.data.version, r.data.previousVersion]).sort()).toEqual(EDGES.map((e) => [e, "m-good-1", "m-good-2"]));
    await expect(requestRollback(cloud, { rolloutId, requestedBy: "test" })).rejects.toThrow(/already rolled back/);
    // Nor does a rollback without an id reach past it to the m-good-1 rollout: every edge would still follow this one.
    const older = [...(await readRolloutState(cloud)).rollouts.values()].find((r) => r.version === "m-good-1" && r.status === "completed")!.rolloutId;
    const historyBefore = await historyOf(older);
    await expect(requestRollback(cloud, { requestedBy: "test" })).rejects.toThrow(new RegExp(`rollout ${rolloutId} \\(m-good-2\\) is already rolled back`));
    await expect(requestRollback(cloud, { rolloutId: older, requestedBy: "test" })).rejects.toThrow(new RegExp(`rollout ${older} .* is superseded by ${rolloutId}`));
    expect(await historyOf(older)).toEqual(historyBefore);
    for (const edge of EDGES) expect(active(edge)).toBe("m-good-1");
  }, 120_000);

  it("refuses a rollout of a version that is not published, before appending anything", async () => {
    await expect(requestRollout(cloud, { version: "m-nope", strategy: "all" }, "test")).rejects.toThrow(/m-nope is not published/);
    await expect(requestRollout(cloud, { version: "bad version!", strategy: "all" }, "test")).rejects.toThrow(/invalid rollout request/);
  });

  it("an edge that was offline picks the rollout up when it reconnects", async () => {
    await publishTestModel(cloud, given.dir, "m-good-3");
    await given.topology.stopServer("edge-3");
    const { rolloutId } = await requestRollout(cloud, { version: "m-good-3", strategy: "canary" }, "test");
    // The canary passes and the rest stage starts while edge 3 cannot hear of it.
    await rolloutWhen(cloud, rolloutId, (r) => r?.stage === 1 || terminal(r));
    const midway = (await readRolloutState(cloud)).rollouts.get(rolloutId)!;
    expect(midway.status).toBe("running");
    expect(midway.edges.get("3")?.activated).toBeUndefined();
    await given.topology.startServer("edge-3");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status, done.outcome?.reason).toBe("completed");
    expect(active("3")).toBe("m-good-3");
  }, 180_000);

  it("a controller killed mid-rollout is replaced by one that resumes from the streams", async () => {
    await publishTestModel(cloud, given.dir, "m-good-4");
    const { rolloutId } = await requestRollout(cloud, { version: "m-good-4", strategy: "canary" }, "test");
    await rolloutWhen(cloud, rolloutId, (r) => r?.status === "running" && r.stage === 0);
    await controller.stop();
    const before = await historyOf(rolloutId);
    controller = await startController(cloud, EDGES, "controller-b");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status, done.outcome?.reason).toBe("completed");
    const history = await historyOf(rolloutId);
    // Nothing decided twice: the resumed controller went on from where the stream stood.
    expect(history.slice(0, before.length)).toEqual(before);
    expect(history).toEqual(["requested", "planned", "stage.started", "stage.completed", "stage.started", "stage.completed", "completed"]);
  }, 120_000);

  it("two controllers at once produce one consistent rollout", async () => {
    const second = await startController(cloud, EDGES, "controller-c");
    try {
      await publishTestModel(cloud, given.dir, "m-good-5");
      const { rolloutId } = await requestRollout(cloud, { version: "m-good-5", strategy: "canary" }, "test");
      const done = await rolloutWhen(cloud, rolloutId, terminal);
      expect(done.status, done.outcome?.reason).toBe("completed");
      expect(await historyOf(rolloutId)).toEqual(["requested", "planned", "stage.started", "stage.completed", "stage.started", "stage.completed", "completed"]);
      // Both replicas were live and saw the same rollout; whichever decided each step, it is in the stream once.
      for (const replica of [controller, second]) await eventually(() => replica.state().rollouts.get(rolloutId)?.status, (s) => s === "completed", 10_000, `${replica.id} sees the end`);
      for (const edge of EDGES) expect(active(edge)).toBe("m-good-5");
    } finally {
      await second.stop();
    }
  }, 120_000);

  it("two replicas deciding on the same state: one decision is stored, the other replica counts the conflict and stands down", async () => {
    // Replicas that decide only when told, so both decide before either append lands (autonomous ones contend only when timing says so).
    await controller.stop();
    const replicas = [await startController(cloud, EDGES, "replica-a", { autoRun: false }), await startController(cloud, EDGES, "replica-b", { autoRun: false })];
    let rolloutId = "";
    try {
      await publishTestModel(cloud, given.dir, "m-good-6");
      ({ rolloutId } = await requestRollout(cloud, { version: "m-good-6", strategy: "all" }, "test"));
      for (const replica of replicas) {
        await eventually(() => replica.state(), (s) => s.rollouts.get(rolloutId)?.status === "requested" && s.published.has("m-good-6"), 10_000, `${replica.id} sees the request`);
      }
      await Promise.all(replicas.map((replica) => replica.round()));
      expect(replicas.map((r) => r.stats.decisions).reduce((a, b) => a + b)).toBe(1);
      expect(replicas.map((r) => r.stats.conflicts).reduce((a, b) => a + b)).toBe(1);
      expect(await historyOf(rolloutId)).toEqual(["requested", "planned"]);
    } finally {
      for (const replica of replicas) await replica.stop();
      controller = await startController(cloud, EDGES, "controller-d");
    }
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status, done.outcome?.reason).toBe("completed");
    expect(await historyOf(rolloutId)).toEqual(["requested", "planned", "stage.started", "stage.completed", "completed"]);
  }, 120_000);

  it("an edge NODES says is lost is left out of the plan (and named in it), so it cannot stall a fleet-wide rollout", async () => {
    const monitor = startNodeMonitor({ nc: cloud, checkMs: 100 });
    await monitor.start();
    try {
      // Edge 3 dies for good: no more heartbeats, and the node-loss detector declares it lost.
      await edges.get("3")!.stop();
      edges.delete("3");
      await eventually(() => controller.state().liveness.get("3")?.lost, (lost) => lost !== undefined, 30_000, "edge 3 lost, as the controller folds NODES");
      expect(controller.state().liveness.get("1")?.lost).toBeUndefined();

      await publishTestModel(cloud, given.dir, "m-good-7");
      const { rolloutId } = await requestRollout(cloud, { version: "m-good-7", strategy: "canary" }, "test");
      const done = await rolloutWhen(cloud, rolloutId, terminal);
      // Completed, not rolled back on a stage timeout waiting for edge 3.
      expect(done.status, done.outcome?.reason).toBe("completed");
      expect(done.plan!.stages).toEqual([
        { name: "canary", edges: ["1"] },
        { name: "rest", edges: ["2"] },
      ]);
      expect(done.plan!.skipped).toEqual([{ edge: "3", reason: expect.stringMatching(/^node edge-3 lost at \S+ \(last seen \S+, \d+ heartbeats missed\)$/) }]);
      for (const edge of ["1", "2"]) expect(active(edge)).toBe("m-good-7");
    } finally {
      await monitor.stop();
    }
  }, 120_000);

  it("an edge restarted while the hub is unreachable serves the rolled-out model from its local copy", async () => {
    const rolloutId = [...(await readRolloutState(cloud)).rollouts.values()].find((r) => r.version === "m-good-7")!.rolloutId;
    expect(active("2")).toBe("m-good-7");
    const edge2 = devices.get("2")!;
    const inferencesBefore = (await eventsOf(edge2, edgeDomain("2"), "INFERENCES")).at(-1)?.seq ?? 0;

    await edges.get("2")!.stop();
    await given.topology.stopServer("hub");
    try {
      // Nothing of the cloud is reachable: the model can only come from the edge's own copy.
      const [restarted] = (await startEdges(given.topology.file, ["2"])).values();
      edges.set("2", restarted!);
      expect(active("2")).toBe("m-good-7");
      // And it serves it: the devices' readings are predicted with it.
      await eventually(
        async () => ofType(await eventsOf(edge2, edgeDomain("2"), "INFERENCES"), "tide.inference.completed.v1").filter((i) => i.seq > inferencesBefore),
        (after) => after.some((i) => i.event.data.modelVersion === "m-good-7"),
        30_000,
        "edge 2 predicting with m-good-7 after its restart",
      );
    } finally {
      await given.topology.startServer("hub");
    }
    // Its report of the restore reaches the cloud once the hub is back.
    const restored = await eventually(() => reportsOf(rolloutId), (rs) => rs.some((r) => r.edge === "2" && r.data.cause === "restore"), 60_000, "edge 2's restore report in the cloud");
    expect(restored.find((r) => r.data.cause === "restore")!.data).toMatchObject({ edge: "2", version: "m-good-7", rolloutId, cause: "restore" });
  }, 180_000);
});
