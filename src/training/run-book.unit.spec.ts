import { describe, expect, it } from "vitest";
import type { TideEventBody } from "../events/catalogue.ts";
import { createEvent } from "../events/envelope.ts";
import type { StoredEvent } from "../store/read-stream.ts";
import { createRunBook } from "./run-book.ts";

let seq = 0;
const stored = (body: TideEventBody, time = "2025-01-01T00:00:00.000Z"): StoredEvent => ({
  seq: ++seq,
  subject: "tide.training.x",
  storedAt: time,
  pending: 0,
  event: createEvent(body, { source: "tide://test", time }) as StoredEvent["event"],
});
const requested = (runId: string, time?: string, reason: "manual" | "drift" = "manual") =>
  stored({ type: "tide.training.requested.v1", data: { runId, reason, force: false } }, time);
const started = (runId: string, toSeq = 100) =>
  stored({
    type: "tide.training.started.v1",
    data: { runId, trainer: "t1", fromSeq: 1, toSeq, readings: 100, devices: 2, samples: { train: 60, validation: 10, test: 10 }, datasetHash: "a".repeat(64), backend: "cpu", epochs: 3, window: 8, batchSize: 32 },
  });
const epoch = (runId: string, n: number) =>
  stored({ type: "tide.training.epoch.completed.v1", data: { runId, epoch: n, epochs: 3, loss: 0.1, valLoss: 0.2, samples: 60, durationMs: 5 } });

describe("run book", () => {
  it("follows a run from request to completion, tracking the seq the next append must expect", () => {
    const book = createRunBook();
    const events = [requested("r1"), started("r1"), epoch("r1", 1), epoch("r1", 2)];
    events.forEach(book.apply);
    expect(book.get("r1")).toMatchObject({ status: "running", trainer: "t1", epochsDone: 2, requestedSeq: events[0]!.seq, lastSeq: events[3]!.seq, toSeq: 100 });
    const done = stored({ type: "tide.training.completed.v1", data: { runId: "r1", metrics: { mae: 0.1 }, version: "v1", published: true, durationMs: 10 } });
    book.apply(done);
    expect(book.get("r1")).toMatchObject({ status: "completed", version: "v1", published: true, lastSeq: done.seq });
    expect(book.inFlight()).toBe(false);
  });

  it("lists unclaimed requests oldest first, and running runs", () => {
    const book = createRunBook();
    [requested("a"), requested("b"), requested("c"), started("b")].forEach(book.apply);
    expect(book.pending().map((r) => r.runId)).toEqual(["a", "c"]);
    expect(book.running().map((r) => r.runId)).toEqual(["b"]);
    expect(book.inFlight()).toBe(true);
  });

  it("records failures with their stage", () => {
    const book = createRunBook();
    [requested("f"), started("f"), stored({ type: "tide.training.failed.v1", data: { runId: "f", reason: "trainer died", stage: "crash" } })].forEach(book.apply);
    expect(book.get("f")).toMatchObject({ status: "failed", failure: { reason: "trainer died", stage: "crash" } });
  });

  it("ignores events of runs it never saw requested, and other families", () => {
    const book = createRunBook();
    book.apply(started("ghost"));
    book.apply(stored({ type: "tide.node.lost.v1", data: { node: "n", lastSeen: "2025-01-01T00:00:00.000Z", missedHeartbeats: 3 } }));
    expect(book.all()).toEqual([]);
  });

  it("answers what the triggers need: last request time, last data seq, last request of a reason", () => {
    const book = createRunBook();
    expect(book.lastRequestedAt()).toBeUndefined();
    expect(book.lastDataSeq()).toBe(0);
    [requested("a", "2025-01-01T00:00:00.000Z", "drift"), started("a", 40), requested("b", "2025-01-01T01:00:00.000Z"), started("b", 90)].forEach(book.apply);
    expect(book.lastRequestedAt()).toBe(Date.parse("2025-01-01T01:00:00.000Z"));
    expect(book.lastDataSeq()).toBe(90);
    expect(book.lastRequestOf("drift")?.runId).toBe("a");
    expect(book.lastRequestOf("schedule")).toBeUndefined();
  });
});
