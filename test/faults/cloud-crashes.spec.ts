import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN } from "../../src/ids.ts";
import { submitTask } from "../../src/tasks/submit.ts";
import { requestTraining } from "../../src/training/run-events.ts";
import { eventually } from "../harness.ts";
import { dataOf as eventsData, taskEvents } from "../scheduler-support.ts";
import { dataOf, runEnded, runEvents } from "../training-support.ts";
import { hold, runFaultScenario } from "./scenario.ts";
import { givenFaultSystem, type FaultSystem } from "./system.ts";

let system: FaultSystem;
let hub: NatsConnection;

beforeAll(async () => {
  // A run long enough to be caught in the middle; a restarted trainer pings the owner of a running run at once.
  system = await givenFaultSystem({
    edges: ["1"],
    training: { epochs: 5000, batchSize: 8, minTrainSamples: 50, schedule: { everyMinutes: 0, everyReadings: 0 }, drift: { enabled: false }, recovery: { pingTimeoutMs: 500 } },
  });
  hub = await system.connect(CLOUD_DOMAIN);
});
afterAll(async () => {
  await system?.cleanup();
});

const epochsOf = async (runId: string) => (await runEvents(hub, runId)).filter((e) => e.type === "tide.training.epoch.completed.v1").length;

describe("fault: the trainer (`tide cloud`) is SIGKILLed mid-run", () => {
  it("the restarted trainer ends the run failed (crash); no acked reading is lost and the cloud projections equal a rebuild", async () => {
    let runId = "";
    await runFaultScenario(system, {
      name: "SIGKILL trainer mid-run",
      hit: ["cloud"],
      inject: async (load) => {
        await eventually(() => load.acked.length, (n) => n >= 400, 90_000, "enough readings to train on");
        ({ runId } = await requestTraining(hub.jetstream(), { reason: "manual" }, "tide://fault-suite"));
        await eventually(() => epochsOf(runId), (n) => n >= 2, 90_000, "two epochs of the run");
        await system.kill("cloud");
        await hold(2000);
      },
      recover: () => system.restart("cloud"),
    });
    const events = await runEnded(hub, runId, 60_000);
    expect(dataOf(events, "tide.training.failed.v1").stage).toBe("crash");
    expect(events.some((e) => e.type === "tide.training.completed.v1")).toBe(false);
  });
});

describe("fault: the scheduler (`tide cloud`) is SIGKILLed mid-assignment", () => {
  it("after the restart every task is assigned and completes exactly once", async () => {
    const ids: string[] = [];
    let assignedAtKill = 0;
    await runFaultScenario(system, {
      name: "SIGKILL scheduler mid-assignment",
      hit: ["cloud"],
      inject: async () => {
        for (let i = 0; i < 20; i++) ids.push((await submitTask({ kind: "aggregate", priority: i % 10, data: { edge: "1" } }, { nc: hub })).taskId);
        await eventually(
          async () => eventsData(await taskEvents(hub), "tide.task.assigned.v1").filter((a) => ids.includes(a.taskId)).length,
          (n) => n >= 1,
          60_000,
          "the first assignment",
        );
        await system.kill("cloud");
        assignedAtKill = new Set(eventsData(await taskEvents(hub), "tide.task.assigned.v1").flatMap((a) => (ids.includes(a.taskId) ? [a.taskId] : []))).size;
        await hold(2000);
      },
      recover: () => system.restart("cloud"),
    });
    // Mid-assignment: the scheduler had placed some of the tasks, not all, when it died.
    expect(assignedAtKill).toBeGreaterThanOrEqual(1);
    expect(assignedAtKill).toBeLessThan(ids.length);
    const all = await eventually(
      () => taskEvents(hub),
      (events) => ids.every((id) => eventsData(events, "tide.task.completed.v1").some((c) => c.taskId === id)),
      120_000,
      "all 20 tasks completed",
    );
    for (const id of ids) {
      expect(eventsData(all, "tide.task.completed.v1").filter((c) => c.taskId === id), `task ${id} completed once`).toHaveLength(1);
      const attempts = eventsData(all, "tide.task.assigned.v1").filter((a) => a.taskId === id).map((a) => a.attempt);
      expect(new Set(attempts).size, `task ${id}: one assignment per attempt`).toBe(attempts.length);
    }
  });
});
