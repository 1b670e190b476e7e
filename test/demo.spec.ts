import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DemoSummary } from "../src/demo/run.ts";
import type { RolloutStageStatus } from "../src/demo/status.ts";
import { startDemo } from "./demo-support.ts";
import { tempDir } from "./harness.ts";

const dir = tempDir("tide-demo-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const summaryOf = (): DemoSummary => JSON.parse(readFileSync(join(dir, "demo-summary.json"), "utf8")) as DemoSummary;

describe("tide demo --duration (npm start, bounded)", () => {
  let first: DemoSummary;

  it("ends by itself; data flowed edge → cloud, a model was trained and rolled out canary-first (completed, or rolled back on a measured regression), and tasks completed", { timeout: 150_000 }, async () => {
    const demo = startDemo(dir, "--duration", "60");
    expect(await demo.exited, demo.stderr()).toBe(0);
    const out = demo.stdout();
    expect(out).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    expect(out).toContain("Stopping (duration)");
    expect(out).toMatch(/edge → cloud: [1-9]\d* readings reached the cloud in this run/);
    expect(existsSync(join(dir, "training.json")) && existsSync(join(dir, "rollout.json"))).toBe(true);

    first = summaryOf();
    expect(first.stoppedBy).toBe("duration");
    // Devices → edges → cloud: what the edges stored is what reached the cloud (every reading is routed up by the default policy).
    expect(first.simulated.stored).toBeGreaterThan(200);
    expect(first.edgeToCloud.thisRun).toBeGreaterThan(200);
    expect(first.simulated.rejected).toBeGreaterThan(0); // the faulty sensors' bad payloads, dead-lettered
    for (const edge of first.final.edges) {
      expect(edge.inferences).toBeGreaterThan(0);
      // A fresh directory: each edge's DLQ stream holds exactly what its ingest dead-lettered in this run.
      expect(edge.dlq).toBe(edge.rejected);
    }
    expect(first.final.edges.reduce((n, e) => n + e.rejected, 0)).toBe(first.simulated.rejected);
    // The demo forced the first training run itself, once 200 readings had reached the cloud.
    expect(first.forcedTraining.length).toBeGreaterThanOrEqual(1);
    expect(out).toContain(`training requested (${first.forcedTraining[0]})`);
    // Trained and published, then rolled out canary-first. The canary judges the model on live predictions: it
    // either passes every stage (every edge runs it) or regresses and is rolled back (every edge runs what it ran).
    expect(first.final.runs.completed).toBeGreaterThanOrEqual(1);
    expect(first.final.runs.published).toBeGreaterThanOrEqual(1);
    expect(first.final.production).toMatch(/^v\d+$/);
    const rollout = first.final.rollout!;
    expect(rollout, "a rollout of the first model").toBeDefined();
    expect(rollout.version).toBe(first.final.production);
    expect(out).toContain(`rollout: ${rollout.rolloutId} of ${rollout.version}: ${rollout.status}`);
    // Canary-first: planned as a canary stage of one edge, then the rest; the canary edge activated the new version.
    expect(rollout.stages.map((stage) => stage.name)).toEqual(["canary", "rest"]);
    const [canary, rest] = rollout.stages as [RolloutStageStatus, RolloutStageStatus];
    expect(canary.edges).toEqual(["1"]);
    expect(rest.edges).toEqual(["2"]);
    expect(canary.startedAt, "the canary stage started").not.toBeNull();
    const canaryEdge = rollout.edges.find((e) => e.edge === "1");
    expect(canaryEdge?.version, "the canary edge's report").toBe(rollout.version);
    expect(canaryEdge?.activatedAt, "the canary edge activated the new version").not.toBeNull();
    expect(canaryEdge!.activatedAt! >= canary.startedAt!).toBe(true);
    // The rest only after the canary stage passed.
    if (rest.startedAt !== null) expect(canary.completedAt !== null && canary.completedAt <= rest.startedAt).toBe(true);
    // On a loaded machine the 60 s run can end while the canary is still being observed: then it is running, not lost.
    expect(["completed", "rolled_back", "running"]).toContain(rollout.status);
    if (rollout.status === "running") expect(rollout.stage).toMatch(/^(canary|rest) /);
    if (rollout.status === "completed") for (const edge of first.final.edges) expect(edge.model).toBe(rollout.version);
    else if (rollout.status === "rolled_back") {
      expect(rollout.reason).toMatch(/regress|error|latency/);
      for (const edge of first.final.edges) expect(edge.model).toBe("baseline");
    }
    // Tasks were placed and completed, with their measured T_delay.
    expect(first.final.tasks.completed ?? 0).toBeGreaterThan(0);
    expect(first.final.delay?.p50Ms).toBeGreaterThan(0);
  });

  it("a second run resumes from the state in the directory: the history stays, no first training is forced again", { timeout: 90_000 }, async () => {
    expect(first, "the first run").toBeDefined();
    const demo = startDemo(dir, "--duration", "12");
    expect(await demo.exited, demo.stderr()).toBe(0);
    expect(demo.stdout()).not.toContain("wrote ");
    const second = summaryOf();
    // A model is in production already: the demo forced no training run.
    expect(second.forcedTraining).toEqual([]);
    expect(demo.stdout()).not.toContain("training requested");
    // The DLQ streams keep the first run's dead letters; the ingest counters start again at zero.
    for (const edge of second.final.edges) {
      const before = first.final.edges.find((e) => e.edge === edge.edge)!;
      expect(edge.dlq).toBe(before.dlq! + edge.rejected);
    }
    expect(second.edgeToCloud.total).toBe(first.edgeToCloud.total + second.edgeToCloud.thisRun);
    // The simulated clock resumed after the first run's readings: new reading ids, so the edges stored what the
    // devices sent instead of taking it for the first run's readings retried (a same-clock rerun stored 3 of ~350).
    expect(demo.stdout()).toContain("resumed after the readings this directory holds");
    expect(second.simulated.stored).toBeGreaterThan(100);
    expect(second.edgeToCloud.thisRun).toBeGreaterThan(100);
    expect(second.final.runs.published).toBeGreaterThanOrEqual(first.final.runs.published);
    expect(second.final.production).toBe(first.final.production);
    expect(second.final.rollout?.rolloutId).toBe(first.final.rollout?.rolloutId);
    expect(second.final.tasks.completed ?? 0).toBeGreaterThanOrEqual(first.final.tasks.completed ?? 0);
  });
});
