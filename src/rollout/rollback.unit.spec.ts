import { describe, expect, it } from "vitest";
import { ConcurrencyError, ValidationError } from "../errors.ts";
import type { TideEvent } from "../events/catalogue.ts";
import { evolve, initialState } from "./evolve.ts";
import { decideRollback, retryOnConflict } from "./rollback.ts";
import { DEFAULT_CRITERIA, type RolloutState } from "./types.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const SHA = "0".repeat(64);
const artifact = { bucket: "models", name: "m", sha256: SHA, size: 10 };

type Step = { type: string; data: Record<string, unknown> };
const requested = (id: string, version: string): Step => ({ type: "tide.rollout.requested.v1", data: { rolloutId: id, version, strategy: "all", requestedBy: "test" } });
const planned = (id: string, version: string, previousVersion?: string): Step => ({
  type: "tide.rollout.planned.v1",
  data: { rolloutId: id, version, ...(previousVersion ? { previousVersion } : {}), strategy: "all", stages: [{ name: "all", edges: ["a", "b"] }], criteria: DEFAULT_CRITERIA, artifact },
});
const started = (id: string, version: string): Step => ({ type: "tide.rollout.stage.started.v1", data: { rolloutId: id, version, stage: 0, name: "all", edges: ["a", "b"] } });
const completed = (id: string, version: string): Step => ({ type: "tide.rollout.completed.v1", data: { rolloutId: id, version } });
const rolledBack = (id: string, version: string): Step => ({ type: "tide.rollout.rolled_back.v1", data: { rolloutId: id, version, reason: "regressed", trigger: "automatic" } });
const rejected = (id: string, version: string): Step => ({ type: "tide.rollout.rejected.v1", data: { rolloutId: id, version, reason: "not published" } });

/** Given these ROLLOUTS events, in order. */
function given(...steps: Step[]): RolloutState {
  const state = initialState();
  steps.forEach((e, i) => {
    const time = new Date(T0 + i).toISOString();
    evolve(state, { stream: "ROLLOUTS", seq: i + 1, subject: `tide.rollout.${String(e.data.rolloutId)}`, storedAt: time, event: { ...e, metadata: { id: `e${i}`, source: "test", time } } as TideEvent });
  });
  return state;
}

/** r1 (m1) completed, then r2 (m2, replacing m1) completed: edges follow r2. */
const twoCompleted = () => given(requested("r1", "m1"), planned("r1", "m1"), started("r1", "m1"), completed("r1", "m1"), requested("r2", "m2"), planned("r2", "m2", "m1"), started("r2", "m2"), completed("r2", "m2"));

describe("manual rollback decider", () => {
  it("without an id rolls back the newest planned rollout, expecting its subject's last sequence", () => {
    const decided = decideRollback(twoCompleted(), { requestedBy: "cli" });
    expect(decided).toMatchObject({
      success: true,
      rolloutId: "r2",
      expectedSeq: 8,
      event: { type: "tide.rollout.rolled_back.v1", data: { rolloutId: "r2", version: "m2", toVersion: "m1", trigger: "manual", stage: 0, requestedBy: "cli", reason: "manual rollback by cli" } },
      result: { rolloutId: "r2", version: "m2", toVersion: "m1" },
    });
  });

  it("without an id, never reaches past a newest rollout that is already rolled back (its edges follow it, not the older one)", () => {
    const state = given(requested("r1", "m1"), planned("r1", "m1"), started("r1", "m1"), completed("r1", "m1"), requested("r2", "m2"), planned("r2", "m2", "m1"), started("r2", "m2"), rolledBack("r2", "m2"), requested("r3", "m9"), rejected("r3", "m9"));
    expect(decideRollback(state, { requestedBy: "cli" })).toEqual({ success: false, reason: "REFUSED", message: expect.stringMatching(/^rollout r2 \(m2\) is already rolled back \(regressed\); older rollouts are superseded by it/) });
  });

  it("refuses a rollout superseded by a newer planned one, naming what to do instead", () => {
    expect(decideRollback(twoCompleted(), { rolloutId: "r1", requestedBy: "api" })).toEqual({
      success: false,
      reason: "REFUSED",
      message: expect.stringMatching(/^rollout r1 \(m1\) is superseded by r2 \(m2, completed\): .*would split the fleet; roll back r2, or roll out the version you want/),
    });
    // A newer request not planned yet supersedes nothing: edges still follow r2.
    const pending = twoCompleted();
    evolve(pending, { stream: "ROLLOUTS", seq: 9, subject: "tide.rollout.r3", storedAt: "", event: { ...requested("r3", "m3"), metadata: { id: "x", source: "t", time: "" } } as TideEvent });
    expect(decideRollback(pending, { requestedBy: "cli" })).toMatchObject({ success: true, rolloutId: "r2" });
  });

  it("refuses a rollout already rolled back, rejected or not planned yet; an unknown id is not found", () => {
    const state = given(requested("r1", "m1"), planned("r1", "m1"), started("r1", "m1"), rolledBack("r1", "m1"), requested("r2", "m9"), rejected("r2", "m9"), requested("r3", "m3"));
    expect(decideRollback(state, { rolloutId: "r1", requestedBy: "cli" })).toMatchObject({ success: false, reason: "REFUSED", message: expect.stringMatching(/^rollout r1 \(m1\) is already rolled back \(regressed\)$/) });
    expect(decideRollback(state, { rolloutId: "r2", requestedBy: "cli" })).toMatchObject({ success: false, reason: "REFUSED", message: "rollout r2 was rejected: nothing to roll back" });
    expect(decideRollback(state, { rolloutId: "r3", requestedBy: "cli" })).toMatchObject({ success: false, reason: "REFUSED", message: "rollout r3 is not planned yet: nothing to roll back" });
    expect(decideRollback(state, { rolloutId: "nope", requestedBy: "cli" })).toEqual({ success: false, reason: "NOT_FOUND", message: "no rollout nope" });
    expect(decideRollback(initialState(), { requestedBy: "cli" })).toEqual({ success: false, reason: "NOT_FOUND", message: "no rollout to roll back (none was planned yet)" });
  });
});

describe("retry on a lost optimistic-concurrency race", () => {
  const conflict = () => new ConcurrencyError({ stream: "ROLLOUTS", subject: "tide.rollout.r1", expected: 3, actual: 4 });

  it("runs the attempt again (it re-reads and re-decides) until it is not beaten", async () => {
    const runs: number[] = [];
    const result = await retryOnConflict(5, async (n) => {
      runs.push(n);
      if (n < 3) throw conflict();
      return "appended";
    });
    expect(result).toBe("appended");
    expect(runs).toEqual([1, 2, 3]);
  });

  it("gives up after the bound with the last conflict, and never retries another error", async () => {
    let runs = 0;
    const beaten = () => {
      runs++;
      return Promise.reject(conflict());
    };
    await expect(retryOnConflict(3, beaten)).rejects.toBeInstanceOf(ConcurrencyError);
    expect(runs).toBe(3);
    let refused = 0;
    const refusing = () => {
      refused++;
      return Promise.reject(new ValidationError("already rolled back"));
    };
    await expect(retryOnConflict(3, refusing)).rejects.toThrow(/already rolled back/);
    expect(refused).toBe(1);
  });
});
