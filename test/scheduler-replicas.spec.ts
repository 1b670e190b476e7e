import type { NatsConnection } from "nats";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { startHeartbeats } from "../src/nodes/heartbeat.ts";
import { createScheduler, type Scheduler } from "../src/scheduler/scheduler.ts";
import { createTaskKindRegistry } from "../src/tasks/kinds/registry.ts";
import { kinds as syntheticKinds } from "../src/tasks/kinds/synthetic.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { startTaskWorker } from "../src/tasks/worker/executor.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";
import { dataOf, taskEvents } from "./scheduler-support.ts";

describe("scheduler replicas and restarts (hub only, real nodes)", () => {
  let given: Awaited<ReturnType<typeof givenTopology>>;
  let hub: NatsConnection;
  const stops: (() => Promise<void> | void)[] = [];
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    given = await givenTopology({ edges: [] });
    hub = await given.connect(CLOUD_DOMAIN);
    await applyStreams({ nc: hub, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: [] } });
    // Two cloud nodes that run synthetic.wait: real workers with real heartbeats.
    for (const node of ["worker-r1", "worker-r2"]) {
      const nc = await given.connect(CLOUD_DOMAIN);
      const worker = startTaskWorker({ nc, node, registry: createTaskKindRegistry(syntheticKinds), cpus: 4 });
      await worker.start();
      const beats = startHeartbeats({ nc, node, kind: "cloud", kinds: worker.kinds(), resources: { cpus: 4, memoryMb: 4096 }, intervalMs: 1000, status: () => ({ queueDepth: worker.queueDepth() }) });
      stops.push(() => beats.stop(), () => worker.stop());
    }
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await given?.cleanup();
  });

  const replica = async (id: string, autoRun: boolean) => {
    const s = createScheduler({ nc: await given.connect(CLOUD_DOMAIN), id, autoRun });
    schedulers.push(s);
    await s.start();
    await eventually(() => s.state().nodes.size, (n) => n === 2, 10_000, `${id} sees both nodes`);
    return s;
  };
  const submitMany = async (n: number, ms = 20) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await submitTask({ kind: "synthetic.wait", priority: i % 10, payload: { ms, steps: 1 } }, { nc: hub })).taskId);
    return ids;
  };
  const assignmentsPerTask = async (ids: readonly string[]) => {
    const all = dataOf(await taskEvents(hub), "tide.task.assigned.v1");
    return ids.map((id) => all.filter((a) => a.taskId === id).length);
  };

  it("two replicas deciding the same tasks at the same moment never double-assign", async () => {
    const a = await replica("replica-a", false);
    const b = await replica("replica-b", false);
    const ids = await submitMany(30);
    for (const s of [a, b]) await eventually(() => ids.filter((id) => s.state().tasks.has(id)).length, (n) => n === 30, 10_000, `${s.id} has the tasks`);

    await Promise.all([a.round(), b.round()]);

    expect(await assignmentsPerTask(ids)).toEqual(ids.map(() => 1));
    expect(a.stats.assigned + b.stats.assigned).toBe(30);
    // Both decided every task; for each, exactly one append won and the other was refused.
    expect(a.stats.conflicts + b.stats.conflicts).toBe(30);
    const deciders = new Set(dataOf(await taskEvents(hub), "tide.task.assigned.v1").filter((d) => ids.includes(d.taskId)).map((d) => d.scheduler));
    expect([...deciders].every((d) => d === "replica-a" || d === "replica-b")).toBe(true);

    // Again, before either has seen the other's decisions: still one assignment each.
    await Promise.all([a.round(), b.round()]);
    expect(await assignmentsPerTask(ids)).toEqual(ids.map(() => 1));
    await eventually(() => taskEvents(hub), (all) => ids.every((id) => all.some((e) => e.event.type === "tide.task.completed.v1" && e.event.data.taskId === id)), 30_000, "all 30 completed");
  });

  it("two replicas running on their own place a burst of tasks once each, and every task completes once", async () => {
    await replica("auto-a", true);
    await replica("auto-b", true);
    const ids = await submitMany(40);
    const events = await eventually(
      () => taskEvents(hub),
      (all) => ids.every((id) => all.some((e) => e.event.type === "tide.task.completed.v1" && e.event.data.taskId === id)),
      45_000,
      "all 40 completed",
    );
    expect(await assignmentsPerTask(ids)).toEqual(ids.map(() => 1));
    const completions = dataOf(events, "tide.task.completed.v1");
    expect(ids.map((id) => completions.filter((c) => c.taskId === id).length)).toEqual(ids.map(() => 1));
  });

  it("tasks, assignments and what was learned survive a scheduler restart", async () => {
    const first = await replica("before", true);
    const done = await submitMany(6);
    await eventually(() => taskEvents(hub), (all) => done.every((id) => all.some((e) => e.event.type === "tide.task.completed.v1" && e.event.data.taskId === id)), 30_000, "first batch completed");
    const learned = [...first.state().perf.entries()].filter(([key]) => key.endsWith("synthetic.wait"));
    expect(learned.length).toBeGreaterThan(0);
    await first.stop();

    // While no scheduler runs: new tasks wait.
    const waiting = await submitMany(6);
    expect(await assignmentsPerTask(waiting)).toEqual(waiting.map(() => 0));

    const second = await replica("after", true);
    // Rebuilt from the streams: the same speeds learned, no finished task back in play.
    for (const [key, fit] of learned) expect(second.state().perf.get(key)?.n).toBeGreaterThanOrEqual(fit.n);
    for (const id of done) expect(second.state().tasks.has(id)).toBe(false);
    const events = await eventually(
      () => taskEvents(hub),
      (all) => waiting.every((id) => all.some((e) => e.event.type === "tide.task.completed.v1" && e.event.data.taskId === id)),
      30_000,
      "second batch completed",
    );
    expect(await assignmentsPerTask([...done, ...waiting])).toEqual([...done, ...waiting].map(() => 1));
    const placedAfter = dataOf(events, "tide.task.assigned.v1").filter((a) => waiting.includes(a.taskId));
    expect(placedAfter.every((a) => a.scheduler === "after")).toBe(true);
    expect(placedAfter.flatMap((a) => a.candidates.filter((c) => c.eligible).map((c) => c.computeBasis))).not.toContain("prior");
  });
});
