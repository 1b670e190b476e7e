import type { ChildProcess } from "node:child_process";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitTask } from "../src/tasks/submit.ts";
import { eventually, givenFleet } from "./harness.ts";
import { dataOf, kill, liveNodes, nodeEvents, startTide, SYNTHETIC_KINDS, taskEvents } from "./scheduler-support.ts";

describe("a worker killed mid-task", () => {
  let given: Awaited<ReturnType<typeof givenFleet>>;
  let hub: NatsConnection;
  const workers = new Map<string, ChildProcess & { output: () => string }>();

  beforeAll(async () => {
    given = await givenFleet({ edges: 1, heartbeatMs: 500 });
    hub = await given.connect("cloud");
    for (const name of ["ka", "kb"]) {
      workers.set(`worker-${name}`, startTide(["worker", "--name", name, "--dir", given.dir, "--module", SYNTHETIC_KINDS, "--kinds", "synthetic.wait", "--cpus", "1", "--heartbeat-ms", "500"]));
    }
    await eventually(() => liveNodes(hub), (nodes) => nodes.includes("worker-ka") && nodes.includes("worker-kb"), 30_000, `both workers registered (${[...workers.values()].map((w) => w.output()).join(" | ")})`);
  });
  afterAll(async () => {
    for (const child of workers.values()) await kill(child);
    await given?.cleanup();
  });

  it("is declared lost; its task is rescheduled and completes exactly once, elsewhere", async () => {
    const { taskId } = await submitTask({ kind: "synthetic.wait", payload: { ms: 4000, steps: 40 } }, { nc: hub });

    // Mid-task: started, and reporting progress.
    const running = await eventually(() => taskEvents(hub, taskId), (events) => dataOf(events, "tide.task.progressed.v1").length > 0, 30_000, "task running");
    const victim = dataOf(running, "tide.task.started.v1")[0]!.node;
    await kill(workers.get(victim)!);

    const events = await eventually(() => taskEvents(hub, taskId), (e) => dataOf(e, "tide.task.completed.v1").length > 0, 45_000, "task completed");
    const survivor = victim === "worker-ka" ? "worker-kb" : "worker-ka";

    expect(dataOf(await nodeEvents(hub), "tide.node.lost.v1").map((l) => l.node)).toContain(victim);
    const [firstMove] = dataOf(events, "tide.task.rescheduled.v1");
    expect(firstMove).toMatchObject({ fromNode: victim, attempt: 1, reason: "node_lost" });
    const assigned = dataOf(events, "tide.task.assigned.v1");
    expect(assigned[0]).toMatchObject({ node: victim, attempt: 1 });
    const completed = dataOf(events, "tide.task.completed.v1");
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ node: survivor, attempt: assigned.at(-1)!.attempt, result: { waitedMs: 4000 } });
    // Nothing of the first attempt is recorded after the reschedule.
    const after = events.slice(events.findIndex((e) => e.event.type === "tide.task.rescheduled.v1"));
    expect(after.filter((e) => "node" in e.event.data && e.event.data.node === victim)).toEqual([]);

    // The tasks projection counts one completion.
    const row = await eventually(
      () => given.fleet.cloud.db.prepare<[string], { status: string; completions: number; reschedules: number; node: string }>("SELECT status, completions, reschedules, node FROM tasks WHERE task_id = ?").get(taskId),
      (r) => r?.status === "completed",
      10_000,
      "tasks projection shows it completed",
    );
    expect(row).toMatchObject({ status: "completed", completions: 1, node: survivor });
    expect(row!.reschedules).toBeGreaterThanOrEqual(1);
  });
});
