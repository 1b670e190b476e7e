import { describe, expect, it } from "vitest";
import type { EventData } from "../events/catalogue.ts";
import { decide } from "./decider.ts";
import { evolve } from "./evolve.ts";
import { given, iso, node, stateOf, submitted, T0, type Fact } from "./scenario.ts";
import { DEFAULT_SCHEDULER_CONFIG, type Decision } from "./types.ts";

type Assigned = EventData<"tide.task.assigned.v1">;
const assigned = (d: Decision | undefined): Assigned => {
  expect(d?.event.type).toBe("tide.task.assigned.v1");
  return d!.event.data as Assigned;
};
const fleet: Fact[] = [...node("edge-1", { edge: "1", cpus: 1, memoryMb: 512, rttMs: 40 }), ...node("edge-2", { edge: "2", cpus: 1, memoryMb: 512, rttMs: 40 }), ...node("worker-a", { cpus: 4, kinds: ["batch_inference", "aggregate", "retrain"] })];

describe("scheduler placement", () => {
  it("puts a task on a large edge-resident dataset on that edge, and the scores say why", () =>
    given([...fleet, submitted("big", { kind: "batch_inference", data: { edge: "1", stream: "READINGS", fromSeq: 1, toSeq: 50_000, bytes: 20_000_000 } })])
      .when({ type: "place", at: 100 })
      .then(([d]) => {
        const a = assigned(d);
        expect(a.node).toBe("edge-1");
        const byNode = new Map(a.candidates.map((c) => [c.node, c]));
        expect(byNode.get("edge-1")!.estimate!.transmitMs).toBeLessThan(1000);
        expect(byNode.get("worker-a")!.estimate!.transmitMs).toBeGreaterThan(16_000);
        expect(byNode.get("edge-2")!.estimate!.transmitMs).toBeGreaterThan(byNode.get("worker-a")!.estimate!.transmitMs);
        expect(byNode.get("edge-1")!.reason).toContain("data already on edge 1");
        expect(a.estimate).toEqual(byNode.get("edge-1")!.estimate);
      }));

  it("sends a compute-heavy task on small data to the cloud: the edges cannot offer the CPU", () =>
    given([...node("edge-1", { edge: "1", cpus: 1, memoryMb: 512, kinds: ["crunch"] }), ...node("worker-a", { cpus: 4, kinds: ["crunch"] }), submitted("heavy", { kind: "crunch", needs: { cpu: 2, memoryMb: 1024 }, data: { edge: "1", bytes: 2_000 } })])
      .when({ type: "place", at: 100 })
      .then(([d]) => {
        const a = assigned(d);
        expect(a.node).toBe("worker-a");
        expect(a.candidates.find((c) => c.node === "edge-1")).toMatchObject({ eligible: false, reason: "needs 2 CPU, offers 1" });
        expect(a.estimate.transmitMs).toBeGreaterThan(0);
        expect(a.estimate.transmitMs).toBeLessThan(a.estimate.computeMs);
      }));

  it("places higher priority first, and the later one queues behind it", () => {
    const one = node("solo", { cpus: 1 });
    given([...one, submitted("low", { priority: 1 }), submitted("high", { priority: 8 })])
      .when({ type: "place", at: 10 })
      .then((decisions) => {
        expect(decisions.map((d) => d.taskId)).toEqual(["high", "low"]);
        expect(assigned(decisions[0]).estimate.queueMs).toBe(0);
        expect(assigned(decisions[1]).estimate.queueMs).toBe(assigned(decisions[0]).estimate.computeMs);
      });
  });

  it("leaves a task waiting when no node runs its kind, and says nothing", () =>
    given([...fleet, submitted("x", { kind: "render_video" })]).when({ type: "place", at: 10 }).then((decisions) => expect(decisions).toEqual([])));

  it("says so at assignment when the deadline cannot be met", () =>
    given([...fleet, submitted("late", { deadline: iso(50), data: { edge: "1", bytes: 10_000_000 } })])
      .when({ type: "place", at: 10 })
      .then(([d]) => {
        const a = assigned(d);
        expect(a.deadlineMet).toBe(false);
        expect(a.note).toMatch(/cannot be met/);
      }));

  it("prefers a node that meets the deadline over a cheaper-looking one that does not", () => {
    const config = { ...DEFAULT_SCHEDULER_CONFIG, pressureWeight: 10 };
    const facts = [...node("small", { cpus: 1, memoryMb: 256 }), ...node("big", { cpus: 8, memoryMb: 8192 }), submitted("t", { needs: { cpu: 1, memoryMb: 200 }, deadline: iso(10_000) })];
    const state = stateOf(facts);
    const [d] = decide({ type: "place", now: T0 + 10 }, state, config);
    expect(assigned(d).node).toBe("big");
    expect(assigned(d).deadlineMet).toBe(true);
  });

  it("expects the task subject's last sequence, so a second replica's decision fails", () =>
    given([...fleet, submitted("t")]).when({ type: "place", at: 5 }).then(([d]) => expect(d!.expectedSeq).toBe(fleet.length + 1)));

  it("does not place on a lost or silent node", () =>
    given([...node("gone", { cpus: 4 }), { type: "tide.node.lost.v1", data: { node: "gone", lastSeen: iso(0), missedHeartbeats: 3 } }, ...node("quiet", { cpus: 4 }), submitted("t", {}, 10_000)])
      .when({ type: "place", at: 10_000 })
      .then((decisions) => expect(decisions).toEqual([])));
});

describe("scheduler supervision", () => {
  const onA = [...node("a", { cpus: 2 }), ...node("b", { cpus: 2 }), submitted("t")];
  const assign = (attempt: number, at = 0, nodeId = "a"): Fact => ({
    type: "tide.task.assigned.v1",
    at,
    data: { taskId: "t", node: nodeId, attempt, estimate: { transmitMs: 0, computeMs: 100, queueMs: 0, totalMs: 100 }, deadlineMet: true, candidates: [] },
  });

  it("reschedules the tasks of a lost node, with backoff, and places them elsewhere", () => {
    const facts: Fact[] = [...onA, assign(1), { type: "tide.task.started.v1", data: { taskId: "t", node: "a", attempt: 1 } }, { type: "tide.node.lost.v1", at: 500, data: { node: "a", lastSeen: iso(0), missedHeartbeats: 3 } }];
    const [d] = given(facts).when({ type: "supervise", at: 600 }).decisions;
    expect(d!.event).toMatchObject({ type: "tide.task.rescheduled.v1", data: { reason: "node_lost", fromNode: "a", attempt: 1, notBefore: iso(600 + 500) } });
    const after = [...facts, { ...(d!.event as Fact), at: 600 }, ...node("b", { cpus: 2, at: 1_000 })];
    expect(given(after).when({ type: "place", at: 1_000 }).decisions).toEqual([]);
    expect(assigned(given(after).when({ type: "place", at: 1_100 }).decisions[0])).toMatchObject({ node: "b", attempt: 2 });
  });

  it("abandons a task whose attempts are spent", () => {
    const facts: Fact[] = [...onA, assign(3), { type: "tide.task.failed.v1", data: { taskId: "t", node: "a", attempt: 3, reason: "boom", retryable: true } }];
    expect(given(facts).when({ type: "supervise", at: 10 }).decisions[0]!.event).toMatchObject({ type: "tide.task.abandoned.v1", data: { attempts: 3, reason: "failed" } });
  });

  it("abandons at once a failure no retry can fix", () => {
    const facts: Fact[] = [...onA, assign(1), { type: "tide.task.failed.v1", data: { taskId: "t", node: "a", attempt: 1, reason: "bad payload", retryable: false } }];
    expect(given(facts).when({ type: "supervise", at: 10 }).decisions[0]!.event.type).toBe("tide.task.abandoned.v1");
  });

  it("reschedules an attempt that overruns its allowance, and not before", () => {
    const facts = [...onA, assign(1, 0)];
    expect(given(facts).when({ type: "supervise", at: 5_000 }).decisions).toEqual([]);
    expect(given(facts).when({ type: "supervise", at: 5_200 }).decisions[0]!.event).toMatchObject({ data: { reason: "deadline_overrun" } });
  });

  it("avoids the node where the last attempt failed while another is eligible", () => {
    const failedOnA: Fact[] = [...onA, assign(1), { type: "tide.task.rescheduled.v1", data: { taskId: "t", fromNode: "a", attempt: 1, reason: "failed", notBefore: iso(0) } }];
    const a = assigned(given(failedOnA).when({ type: "place", at: 1 }).decisions[0]);
    expect(a.node).toBe("b");
    expect(a.candidates.find((c) => c.node === "a")?.reason).toMatch(/ended badly/);
  });
});

describe("scheduler state", () => {
  it("learns a node's speed for a kind from completions, and the fleet's for nodes without runs", () => {
    const runs: Fact[] = [];
    for (let i = 0; i < 4; i++) {
      const id = `r${i}`;
      const bytes = (i + 1) * 1_000_000;
      runs.push(submitted(id, { data: { bytes } }), {
        type: "tide.task.assigned.v1",
        data: { taskId: id, node: "a", attempt: 1, estimate: { transmitMs: 0, computeMs: 1, queueMs: 0, totalMs: 1 }, deadlineMet: true, candidates: [] },
      });
      runs.push({ type: "tide.task.completed.v1", data: { taskId: id, node: "a", attempt: 1, actual: { transmitMs: 0, computeMs: 1000 * (i + 1), queueMs: 0, bytes } } });
    }
    const [d] = given([...node("a"), ...node("b"), ...runs, submitted("next", { data: { bytes: 5_000_000 } })]).when({ type: "place", at: 1 }).decisions;
    const byNode = new Map(assigned(d).candidates.map((c) => [c.node, c]));
    expect(byNode.get("a")).toMatchObject({ computeBasis: "learned" });
    expect(byNode.get("a")!.estimate!.computeMs).toBeCloseTo(5000, -1);
    expect(byNode.get("b")).toMatchObject({ computeBasis: "fleet" });
  });

  it("ignores an event at or below the task's last sequence (its own append, seen again)", () => {
    const state = stateOf([...node("a"), submitted("t")]);
    const again = evolve(state, { seq: 2, subject: "tide.task.t", storedAt: iso(0), pending: 0, event: { type: "tide.task.started.v1", data: { taskId: "t", node: "a", attempt: 1 }, metadata: { id: "x", source: "s", time: iso(0) } } });
    expect(again).toBe(state);
  });

  it("never changes the state it is given", () => {
    const state = stateOf([...node("a"), submitted("t")]);
    const before = JSON.stringify([...state.tasks.entries()]);
    stateOf([{ type: "tide.task.started.v1", data: { taskId: "t", node: "a", attempt: 1 } }], state);
    decide({ type: "place", now: T0 }, state);
    expect(JSON.stringify([...state.tasks.entries()])).toBe(before);
  });
});
