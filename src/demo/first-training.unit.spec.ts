import { describe, expect, it } from "vitest";
import { decideFirstTraining, evolveFirstTraining, initialFirstTraining, type FirstTrainingView } from "./first-training.ts";

const SETTINGS = { trainAfter: 200, maxAttempts: 3, retryAfterMs: 10_000 };

const view = (overrides: Partial<FirstTrainingView> = {}): FirstTrainingView => ({ now: 1_000_000, production: undefined, runs: [], cloudReadings: 0, ...overrides });

describe("the demo's first training run", () => {
  it("waits for enough readings in the cloud, then asks", () => {
    expect(decideFirstTraining(view({ cloudReadings: 199 }), initialFirstTraining(), SETTINGS)).toEqual({ action: "wait" });
    expect(decideFirstTraining(view({ cloudReadings: 200 }), initialFirstTraining(), SETTINGS)).toEqual({ action: "request" });
  });

  it("is done once a model is in production (a resumed demo asks for nothing)", () => {
    const resumed = view({ production: "v1", cloudReadings: 5000, runs: [{ runId: "run-0", status: "completed", published: true }] });
    expect(decideFirstTraining(resumed, initialFirstTraining(), SETTINGS)).toEqual({ action: "done" });
  });

  it("waits while another run (the schedule's) is in flight", () => {
    expect(decideFirstTraining(view({ cloudReadings: 500, runs: [{ runId: "run-s", status: "running", published: null }] }), initialFirstTraining(), SETTINGS)).toEqual({ action: "wait" });
  });

  it("asks even though an earlier run failed: a failed run is not a model", () => {
    const earlier = view({ cloudReadings: 500, runs: [{ runId: "run-0", status: "failed", published: null }] });
    expect(decideFirstTraining(earlier, initialFirstTraining(), SETTINGS)).toEqual({ action: "request" });
  });

  it("waits on the run it asked for until it shows, and while it trains", () => {
    const state = evolveFirstTraining(initialFirstTraining(), { requested: "run-1" }, SETTINGS);
    expect(decideFirstTraining(view({ cloudReadings: 500 }), state, SETTINGS)).toEqual({ action: "wait" });
    expect(decideFirstTraining(view({ cloudReadings: 500, runs: [{ runId: "run-1", status: "running", published: null }] }), state, SETTINGS)).toEqual({ action: "wait" });
    expect(decideFirstTraining(view({ cloudReadings: 500, runs: [{ runId: "run-1", status: "completed", published: true }] }), state, SETTINGS)).toEqual({ action: "wait" });
  });

  it("retries a run it asked for that failed, after a pause, and gives up after maxAttempts", () => {
    let state = evolveFirstTraining(initialFirstTraining(), { requested: "run-1" }, SETTINGS);
    const failed = view({ cloudReadings: 500, runs: [{ runId: "run-1", status: "failed", published: null }] });
    expect(decideFirstTraining(failed, state, SETTINGS)).toEqual({ action: "failed", runId: "run-1", giveUp: false });
    state = evolveFirstTraining(state, { failed: "run-1", at: failed.now }, SETTINGS);
    expect(decideFirstTraining(failed, state, SETTINGS)).toEqual({ action: "wait" });
    expect(decideFirstTraining({ ...failed, now: failed.now + 10_000 }, state, SETTINGS)).toEqual({ action: "request" });

    state = evolveFirstTraining(state, { requested: "run-2" }, SETTINGS);
    const rejected = view({ now: failed.now + 20_000, cloudReadings: 600, runs: [{ runId: "run-2", status: "completed", published: false }] });
    expect(decideFirstTraining(rejected, state, SETTINGS)).toEqual({ action: "failed", runId: "run-2", giveUp: false });
    state = evolveFirstTraining(state, { failed: "run-2", at: rejected.now }, SETTINGS);
    state = evolveFirstTraining(state, { requested: "run-3" }, SETTINGS);
    const third = view({ now: failed.now + 40_000, cloudReadings: 700, runs: [{ runId: "run-3", status: "failed", published: null }] });
    expect(decideFirstTraining(third, state, SETTINGS)).toEqual({ action: "failed", runId: "run-3", giveUp: true });
    state = evolveFirstTraining(state, { failed: "run-3", at: third.now }, SETTINGS);
    expect(decideFirstTraining({ ...third, now: third.now + 60_000 }, state, SETTINGS)).toEqual({ action: "done" });
  });
});
