import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DemoSummary } from "../src/demo/run.ts";
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
      expect(edge.rejected).toBeGreaterThanOrEqual(0);
    }
    // Trained and published, then rolled out canary-first. The canary judges the model on live predictions: it
    // either passes every stage (every edge runs it) or regresses and is rolled back (every edge runs what it ran).
    expect(first.final.runs.completed).toBeGreaterThanOrEqual(1);
    expect(first.final.runs.published).toBeGreaterThanOrEqual(1);
    expect(first.final.production).toMatch(/^v\d+$/);
    const rollout = first.final.rollout!;
    expect(rollout, "a rollout of the first model").toBeDefined();
    expect(rollout.version).toBe(first.final.production);
    expect(out).toContain(`rollout: ${rollout.rolloutId} of ${rollout.version}: ${rollout.status}`);
    // On a loaded machine the 60 s run can end while the canary is still being observed: then it is running, not lost.
    expect(["completed", "rolled_back", "running"]).toContain(rollout.status);
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
    expect(second.edgeToCloud.total).toBe(first.edgeToCloud.total + second.edgeToCloud.thisRun);
    expect(second.edgeToCloud.thisRun).toBeGreaterThan(0);
    expect(second.final.runs.published).toBeGreaterThanOrEqual(first.final.runs.published);
    expect(second.final.production).toBe(first.final.production);
    expect(second.final.rollout?.rolloutId).toBe(first.final.rollout?.rolloutId);
    expect(second.final.tasks.completed ?? 0).toBeGreaterThanOrEqual(first.final.tasks.completed ?? 0);
  });
});
