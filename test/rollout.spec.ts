import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeRuntime } from "../edge-runtime/runtime.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import type { EventData } from "../src/events/catalogue.ts";
import { readRolloutState, requestRollback, requestRollout } from "../src/rollout/request.ts";
import type { RolloutController } from "../src/rollout/controller.ts";
import { readStream } from "../src/store/read-stream.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";
import { publishTestModel, rolloutWhen, startController, startEdges, startFeeding, terminal, TEST_CRITERIA } from "./rollout-support.ts";

const EDGES = ["1", "2", "3"];
let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: NatsConnection;
let edges: Map<string, EdgeRuntime>;
let controller: RolloutController;
let feeding: ReturnType<typeof startFeeding>;

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

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  cloud = await given.connect(CLOUD_DOMAIN);
  edges = await startEdges(given.topology.file, EDGES);
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: EDGES } });
  controller = await startController(cloud, EDGES, "controller-a");
  const devices = new Map<string, NatsConnection>();
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

  it("a regression on the canary is rolled back before the other edges get it", async () => {
    await publishTestModel(cloud, given.dir, "m-bad", { offsetC: 25 });
    const { rolloutId } = await requestRollout(cloud, { version: "m-bad", strategy: "canary" }, "test");
    const done = await rolloutWhen(cloud, rolloutId, terminal);
    expect(done.status).toBe("rolled_back");
    expect(done.outcome!.reason).toMatch(/stage canary regressed on 1 .*error/);
    expect(done.outcome!.toVersion).toBe("m-good-1");
    const reports = await reportsOf(rolloutId);
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
});
