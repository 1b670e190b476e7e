import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitTask } from "../src/tasks/submit.ts";
import { kinds as syntheticKinds } from "../src/tasks/kinds/synthetic.ts";
import { startCloudWorker, type CloudWorker } from "../src/tasks/worker/cloud-worker.ts";
import { eventually, givenFleet } from "./harness.ts";
import { appendReadings, dataOf, taskEvents, tide } from "./scheduler-support.ts";

describe("scheduler placement on a fleet (2 edges, a cloud worker)", () => {
  let given: Awaited<ReturnType<typeof givenFleet>>;
  let hub: NatsConnection;
  let worker: CloudWorker;
  const workers: CloudWorker[] = [];
  const edges = ["1", "2"];

  beforeAll(async () => {
    given = await givenFleet({ edges, heartbeatMs: 1000 });
    hub = await given.connect("cloud");
    worker = await startCloudWorker({ topology: given.fleet.topology.file, name: "a", cpus: 4, heartbeatMs: 1000 });
    workers.push(worker);
    const scheduler = given.fleet.cloud.scheduling.scheduler;
    await eventually(() => [...scheduler.state().nodes.keys()].sort(), (nodes) => nodes.join() === "edge-1,edge-2,worker-a", 20_000, "edges and worker registered");
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await given?.cleanup();
  });

  const finished = (taskId: string) =>
    eventually(() => taskEvents(hub, taskId), (events) => events.some((e) => e.event.type === "tide.task.completed.v1" || e.event.type === "tide.task.abandoned.v1"), 30_000, `task ${taskId} finished`);

  it("runs a task on a large edge-resident dataset on that edge, and the recorded scores say why", async () => {
    await appendReadings(await given.connect("1"), "1", 5000);

    const { taskId, spec } = await submitTask({ kind: "batch_inference", data: { edge: "1" } }, { nc: hub, edges });
    const events = await finished(taskId);

    expect(spec.data).toMatchObject({ edge: "1", fromSeq: 1, toSeq: 5000 });
    expect(spec.data!.bytes).toBeGreaterThan(1_000_000);
    const [assigned] = dataOf(events, "tide.task.assigned.v1");
    expect(assigned!.node).toBe("edge-1");
    const score = new Map(assigned!.candidates.map((c) => [c.node, c]));
    expect([...score.keys()].sort()).toEqual(["edge-1", "edge-2", "worker-a"]);
    for (const c of score.values()) expect(c).toMatchObject({ eligible: true, score: expect.any(Number) });
    // The data moves nowhere on edge-1; to the cloud it crosses edge 1's uplink, to edge 2 both uplinks.
    expect(score.get("edge-1")!.estimate!.transmitMs * 10).toBeLessThan(score.get("worker-a")!.estimate!.transmitMs);
    expect(score.get("edge-2")!.estimate!.transmitMs).toBeGreaterThan(score.get("worker-a")!.estimate!.transmitMs);
    expect(score.get("edge-1")!.reason).toContain("data already on edge 1");
    expect(score.get("worker-a")!.reason).toContain("1→cloud");
    expect(score.get("edge-1")!.score).toBeLessThan(Math.min(score.get("edge-2")!.score!, score.get("worker-a")!.score!));
    const [completed] = dataOf(events, "tide.task.completed.v1");
    expect(completed).toMatchObject({ node: "edge-1", attempt: 1, result: { readings: 5000, devices: 20, predictions: 5000 } });
    expect(completed!.actual.bytes).toBeGreaterThan(1_000_000);
  });

  it("sends a compute-heavy task on small data to the cloud: the edges cannot offer its CPUs", async () => {
    const { taskId } = await submitTask({ kind: "aggregate", cpu: 2, memoryMb: 1024, data: { edge: "1", fromSeq: 1, toSeq: 20 } }, { nc: hub, edges });
    const events = await finished(taskId);

    const [assigned] = dataOf(events, "tide.task.assigned.v1");
    expect(assigned!.node).toBe("worker-a");
    const score = new Map(assigned!.candidates.map((c) => [c.node, c]));
    expect(score.get("edge-1")).toMatchObject({ eligible: false, reason: "needs 2 CPU, offers 1" });
    expect(score.get("edge-2")).toMatchObject({ eligible: false, reason: "needs 2 CPU, offers 1" });
    expect(score.get("worker-a")).toMatchObject({ eligible: true, estimate: assigned!.estimate });
    expect(dataOf(events, "tide.task.completed.v1")[0]).toMatchObject({ node: "worker-a", result: { readings: 20, deviceCount: 20 } });
  });

  it("places higher priorities first, and the node runs them in that order", async () => {
    const priorities = [1, 5, 9, 3, 7, 0];
    // Nobody runs synthetic.wait yet: the tasks wait for a node.
    const ids = new Map<string, number>();
    for (const priority of priorities) {
      const { taskId } = await submitTask({ kind: "synthetic.wait", priority, payload: { ms: 150, steps: 1 } }, { nc: hub, edges });
      ids.set(taskId, priority);
    }
    expect(dataOf(await taskEvents(hub), "tide.task.assigned.v1").filter((a) => ids.has(a.taskId))).toEqual([]);

    workers.push(await startCloudWorker({ topology: given.fleet.topology.file, name: "p", cpus: 1, kinds: ["synthetic.wait"], extraKinds: syntheticKinds, heartbeatMs: 1000 }));
    for (const id of ids.keys()) await finished(id);

    const events = (await taskEvents(hub)).filter((e) => "taskId" in e.event.data && ids.has(e.event.data.taskId as string));
    const order = (type: "tide.task.assigned.v1" | "tide.task.started.v1") => dataOf(events, type).map((d) => ids.get(d.taskId));
    expect(order("tide.task.assigned.v1")).toEqual([9, 7, 5, 3, 1, 0]);
    expect(order("tide.task.started.v1")).toEqual([9, 7, 5, 3, 1, 0]);
    // One CPU: each later task of the first round queues behind the ones placed before it.
    const firstRound = dataOf(events, "tide.task.assigned.v1").slice(0, 4).map((a) => a.estimate.queueMs);
    expect(firstRound).toEqual([...firstRound].sort((a, b) => a - b));
    expect(firstRound[3]).toBeGreaterThan(firstRound[0]!);
  });

  it("tide status shows utilisation per node and the T_delay breakdown per task", async () => {
    const [run, human] = await Promise.all([tide("status", "--json", "--window", "600", "--dir", given.dir), tide("status", "--dir", given.dir)]);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as {
      nodes: { nodes: { node: string; runs: number; cpu?: number; totalMs: number }[] };
      tasks: { tasks: { kind: string; status: string; node: string; estimate: { totalMs: number } | null; actual: { transmitMs: number; computeMs: number; queueMs: number; totalMs: number } | null }[] };
    };
    const p = status.nodes.nodes.find((n) => n.node === "worker-p")!;
    expect(p.runs).toBe(6);
    expect(p.cpu).toBeGreaterThan(0);
    expect(p.cpu).toBeLessThanOrEqual(1);
    expect(status.nodes.nodes.find((n) => n.node === "edge-1")!.runs).toBeGreaterThanOrEqual(1);
    const batch = status.tasks.tasks.find((t) => t.kind === "batch_inference")!;
    expect(batch).toMatchObject({ status: "completed", node: "edge-1" });
    expect(batch.estimate!.totalMs).toBeGreaterThan(0);
    expect(batch.actual!.totalMs).toBeCloseTo(batch.actual!.transmitMs + batch.actual!.computeMs + batch.actual!.queueMs, 0);

    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/U_resource = T_used \/ T_total/);
    // NODE KIND STATUS CPUS MEM_MB RUNS: worker-p, a cloud worker with 1 CPU, ran 6 attempts.
    expect(human.stdout).toMatch(/worker-p\s+cloud\s+\w+\s+1\s+\d+\s+6\s/);
  });
});
