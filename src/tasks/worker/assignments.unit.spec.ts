import { describe, expect, it } from "vitest";
import type { TideEventBody } from "../../events/catalogue.ts";
import { evolveView, orphaned, runnable, stillMine, type WorkerView } from "./assignments.ts";

const fold = (...bodies: TideEventBody[]): WorkerView =>
  bodies.reduce<WorkerView>((view, body, i) => evolveView(view, { seq: i + 1, subject: "s", pending: 0, storedAt: new Date(0).toISOString(), event: { ...body, metadata: { id: `${i}`, source: "s", time: "" } } as never }), new Map());
const submitted = (taskId: string, priority = 4): TideEventBody => ({ type: "tide.task.submitted.v1", data: { taskId, kind: "k", needs: { cpu: 1, memoryMb: 1 }, priority, payload: {} } });
const assigned = (taskId: string, node: string, attempt = 1): TideEventBody => ({
  type: "tide.task.assigned.v1",
  data: { taskId, node, attempt, estimate: { transmitMs: 0, computeMs: 0, queueMs: 0, totalMs: 0 }, deadlineMet: true, candidates: [] },
});

describe("a worker's view of its assignments", () => {
  it("runs what is assigned to it, highest priority first", () => {
    const view = fold(submitted("low", 1), submitted("high", 8), submitted("other"), assigned("low", "me"), assigned("high", "me"), assigned("other", "them"));
    expect(runnable(view, "me").map((a) => a.spec.taskId)).toEqual(["high", "low"]);
  });
  it("lets go of an attempt the scheduler moved, and forgets finished tasks", () => {
    const moved = fold(submitted("t"), assigned("t", "me"), { type: "tide.task.rescheduled.v1", data: { taskId: "t", fromNode: "me", attempt: 1, reason: "node_lost", notBefore: new Date(0).toISOString() } }, assigned("t", "them", 2));
    expect(stillMine(moved, "t", 1, "me")).toBe(false);
    const done = fold(submitted("t"), assigned("t", "me"), { type: "tide.task.completed.v1", data: { taskId: "t", node: "me", attempt: 1, actual: { transmitMs: 0, computeMs: 1, queueMs: 0 } } });
    expect(done.size).toBe(0);
  });
  it("finds the attempts it started and never finished (after a restart)", () => {
    const view = fold(submitted("t"), assigned("t", "me"), { type: "tide.task.started.v1", data: { taskId: "t", node: "me", attempt: 1 } });
    expect(orphaned(view, "me").map((a) => a.spec.taskId)).toEqual(["t"]);
    expect(runnable(view, "me")).toEqual([]);
  });
});
