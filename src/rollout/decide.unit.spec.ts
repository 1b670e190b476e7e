import { describe, expect, it } from "vitest";
import type { EventData, TideEvent } from "../events/catalogue.ts";
import { judge } from "./criteria.ts";
import { decide } from "./decide.ts";
import { evolve, initialState } from "./evolve.ts";
import { DEFAULT_CRITERIA, type Decision, type RolloutConfig, type RolloutState } from "./types.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const config: RolloutConfig = { edges: ["a", "b", "c"], criteria: { ...DEFAULT_CRITERIA, stageTimeoutMs: 60_000 }, auto: "off", canaries: 1 };
const SHA = "0".repeat(64);

/** Given these events (ROLLOUTS or MODELS by type), in order. */
function given(...events: Array<{ type: string; data: unknown; at?: number }>): RolloutState {
  const state = initialState();
  events.forEach((e, i) => {
    const time = new Date(e.at ?? T0).toISOString();
    const stream = e.type.startsWith("tide.rollout.") ? "ROLLOUTS" : e.type.startsWith("tide.node.") ? "NODES" : "MODELS";
    evolve(state, { stream, seq: i + 1, subject: "s", storedAt: time, event: { type: e.type, data: e.data, metadata: { id: `e${i}`, source: "test", time } } as TideEvent });
  });
  return state;
}

const published = (version: string) => ({
  type: "tide.model.published.v1",
  data: { version, runId: "run", dataRange: { fromSeq: 1, toSeq: 2 }, datasetHash: SHA, metrics: {}, artifact: { bucket: "models", name: version, quantization: "none", digest: { sha256: SHA, size: 10 } } },
});
const requested = (rolloutId: string, version: string, strategy: "all" | "canary" = "canary", extra: object = {}) => ({
  type: "tide.rollout.requested.v1",
  data: { rolloutId, version, strategy, requestedBy: "test", ...extra },
});
const registered = (edge: string) => ({
  type: "tide.node.registered.v1",
  data: { node: `edge-${edge}`, kind: "edge", edge, resources: { cpus: 1, memoryMb: 512 }, kinds: [], heartbeatMs: 1000 },
});
const heartbeat = (edge: string) => ({ type: "tide.node.heartbeat.v1", data: { node: `edge-${edge}`, cpuLoad: 0, memoryMb: 100, freeMemoryMb: 100, queueDepth: 0 } });
const lost = (edge: string, at = T0) => ({ type: "tide.node.lost.v1", at, data: { node: `edge-${edge}`, lastSeen: new Date(at - 5000).toISOString(), missedHeartbeats: 4 } });
const types = (decisions: Decision[]) => decisions.map((d) => `${d.rolloutId}:${d.event.type.replace(/^tide\.rollout\.|\.v1$/g, "")}`);

/** Replays the decider's own decisions until it has nothing more to say (no edge reports arrive). */
function planAndStart(state: RolloutState): RolloutState {
  for (let i = 0; i < 3; i++) for (const d of decide(state, T0, config)) evolve(state, { stream: "ROLLOUTS", seq: 100 + i, subject: "s", storedAt: new Date(T0).toISOString(), event: { ...d.event, metadata: { id: `d${i}`, source: "c", time: new Date(T0).toISOString() } } as TideEvent });
  return state;
}

const observed = (edge: string, rolloutId: string, cur: [number, number, number], prev?: [string, number, number, number]) => ({
  type: "tide.model.observed.v1",
  data: {
    edge,
    rolloutId,
    observedMs: 1000,
    current: { version: "m2", inferences: cur[0], maeC: cur[1], latencyMs: cur[2] },
    ...(prev ? { previous: { version: prev[0], inferences: prev[1], maeC: prev[2], latencyMs: prev[3] } } : {}),
  },
});

describe("rollout decider", () => {
  it("plans a canary request as the first edge, then the rest, and starts the canary stage", () => {
    const state = given(published("m2"), requested("r1", "m2"));
    const [plan] = decide(state, T0, config);
    expect(plan!.event).toMatchObject({ type: "tide.rollout.planned.v1", data: { stages: [{ name: "canary", edges: ["a"] }, { name: "rest", edges: ["b", "c"] }], artifact: { sha256: SHA, size: 10 } } });
    expect(plan!.expectedSeq).toBe(2);
    planAndStart(state);
    expect(state.rollouts.get("r1")).toMatchObject({ status: "running", stage: 0 });
  });

  it("rejects a request for an unpublished version or an unknown edge", () => {
    const state = given(published("m2"), requested("r1", "m9"), requested("r2", "m2", "all", { edges: ["a", "zz"] }));
    const decisions = decide(state, T0, config);
    expect(types(decisions)).toEqual(["r1:rejected", "r2:rejected"]);
    expect(decisions.map((d) => (d.event.data as { reason: string }).reason)).toEqual(["model version m9 is not published", "unknown edge(s): zz; the fleet is a, b, c"]);
  });

  it("serves requests one at a time: a second request waits while the first runs", () => {
    const state = planAndStart(given(published("m2"), published("m3"), requested("r1", "m2"), requested("r2", "m3")));
    expect(state.rollouts.get("r2")!.status).toBe("requested");
    expect(types(decide(state, T0, config))).toEqual([]);
  });

  it("passes the canary on good evidence, then starts the rest", () => {
    const state = planAndStart(given(published("m2"), requested("r1", "m2")));
    evolve(state, { stream: "MODELS", seq: 50, subject: "s", storedAt: "", event: { ...observed("a", "r1", [30, 0.2, 3], ["baseline", 100, 0.25, 0.1]), metadata: { id: "o", source: "e", time: "" } } as TideEvent });
    const [completed] = decide(state, T0, config);
    expect(completed!.event).toMatchObject({ type: "tide.rollout.stage.completed.v1", data: { stage: 0, verdicts: [{ edge: "a", passed: true, errorRatio: 0.8 }] } });
  });

  it("rolls back when an edge fails to activate, and when a stage times out, saying which edges were missing", () => {
    const failed = planAndStart(given(published("m2"), requested("r1", "m2")));
    evolve(failed, { stream: "MODELS", seq: 50, subject: "s", storedAt: "", event: { type: "tide.model.activation_failed.v1", data: { edge: "a", version: "m2", reason: "sha256 mismatch", rolloutId: "r1" }, metadata: { id: "f", source: "e", time: "" } } as TideEvent });
    expect(decide(failed, T0, config)[0]!.event).toMatchObject({ type: "tide.rollout.rolled_back.v1", data: { reason: "activation failed on edge a: sha256 mismatch", trigger: "automatic", stage: 0 } });

    const slow = planAndStart(given(published("m2"), requested("r1", "m2")));
    expect(decide(slow, T0 + 59_000, config)).toEqual([]);
    expect(decide(slow, T0 + 61_000, config)[0]!.event).toMatchObject({ type: "tide.rollout.rolled_back.v1", data: { reason: "stage canary timed out after 61 s: a not activated" } });
  });

  it("the auto policy requests the newest published version once, and not while a rollout runs", () => {
    const auto = { ...config, auto: "canary" as const };
    const state = given(published("m1"), published("m2"));
    const [request] = decide(state, T0, auto);
    expect(request).toMatchObject({ rolloutId: "auto-m2", expectedSeq: 0, event: { data: { version: "m2", strategy: "canary", requestedBy: "auto-rollout policy" } } });
    const busy = planAndStart(given(published("m1"), requested("r1", "m1"), published("m2")));
    expect(types(decide(busy, T0, auto))).toEqual([]);
  });
});

describe("rollout decider: lost edges (NODES)", () => {
  it("leaves an edge NODES says is lost out of the plan, and says so in it", () => {
    const state = given(registered("a"), registered("b"), registered("c"), heartbeat("a"), lost("a"), published("m2"), requested("r1", "m2"));
    const [plan] = decide(state, T0, config);
    expect(plan!.event).toMatchObject({
      type: "tide.rollout.planned.v1",
      data: { stages: [{ name: "canary", edges: ["b"] }, { name: "rest", edges: ["c"] }], skipped: [{ edge: "a", reason: expect.stringMatching(/^node edge-a lost at .*4 heartbeats missed/) }] },
    });
  });

  it("plans an edge that came back (registered or beat again after its loss), and one NODES never heard of", () => {
    const state = given(registered("a"), registered("b"), lost("a"), lost("b"), heartbeat("a"), registered("b"), published("m2"), requested("r1", "m2", "all"));
    const [plan] = decide(state, T0, config);
    expect(plan!.event).toMatchObject({ type: "tide.rollout.planned.v1", data: { stages: [{ name: "all", edges: ["a", "b", "c"] }] } });
    expect((plan!.event.data as { skipped?: unknown }).skipped).toBeUndefined();
  });

  it("rejects a request whose every target edge is lost", () => {
    const state = given(registered("b"), lost("b"), published("m2"), requested("r1", "m2", "all", { edges: ["b"] }));
    expect(decide(state, T0, config)[0]!.event).toMatchObject({ type: "tide.rollout.rejected.v1", data: { reason: expect.stringMatching(/^every target edge is lost: b \(node edge-b lost/) } });
  });

  it("an edge lost mid-rollout is left to the stage timeout", () => {
    const state = planAndStart(given(registered("a"), published("m2"), requested("r1", "m2")));
    evolve(state, { stream: "NODES", seq: 60, subject: "s", storedAt: "", event: { ...lost("a"), metadata: { id: "l", source: "m", time: new Date(T0).toISOString() } } as TideEvent });
    expect(decide(state, T0 + 30_000, config)).toEqual([]);
    expect(decide(state, T0 + 61_000, config)[0]!.event).toMatchObject({ type: "tide.rollout.rolled_back.v1", data: { reason: "stage canary timed out after 61 s: a not activated" } });
  });
});

describe("rollout decider: one rollout at a time, across replicas", () => {
  it("plans only the oldest waiting request: never a younger one in the round that rejects an older one", () => {
    // This replica has not read m1's publication yet; another one that has may be planning r1 right now.
    const state = given(published("m2"), requested("r1", "m1"), requested("r2", "m2"));
    expect(types(decide(state, T0, config))).toEqual(["r1:rejected"]);
    planAndStart(state);
    expect(state.rollouts.get("r1")!.status).toBe("rejected");
    expect(state.rollouts.get("r2")!.status).toBe("running");
  });

  it("plans nothing while a rollout runs, yet rejects what can never be planned", () => {
    const state = planAndStart(given(published("m2"), published("m3"), requested("r1", "m2")));
    for (const [i, e] of [requested("r2", "m3"), requested("r3", "m9")].entries()) {
      evolve(state, { stream: "ROLLOUTS", seq: 200 + i, subject: "s", storedAt: "", event: { ...e, metadata: { id: `q${i}`, source: "t", time: new Date(T0).toISOString() } } as TideEvent });
    }
    expect(state.rollouts.get("r1")!.status).toBe("running");
    expect(types(decide(state, T0, config))).toEqual(["r3:rejected"]);
  });
});

describe("rollout criteria", () => {
  const obs = (cur: [number, number, number], prev?: [string, number, number, number]) => observed("a", "r1", cur, prev).data as EventData<"tide.model.observed.v1">;
  it("fails a model whose error is worse than the previous one's by more than the margin", () => {
    expect(judge("a", obs([30, 0.5, 3], ["m1", 30, 0.2, 3]), DEFAULT_CRITERIA, true)).toMatchObject({ passed: false, errorRatio: 2.5 });
    expect(judge("a", obs([30, 0.22, 3], ["m1", 30, 0.2, 3]), DEFAULT_CRITERIA, true)).toMatchObject({ passed: true, errorRatio: 1.1 });
  });
  it("judges latency against the previous model, or against a ceiling when the previous one is the baseline", () => {
    expect(judge("a", obs([30, 0.2, 40], ["m1", 30, 0.2, 10]), DEFAULT_CRITERIA, true)).toMatchObject({ passed: false, latencyRatio: 4 });
    expect(judge("a", obs([30, 0.2, 40], ["baseline", 30, 0.2, 0.01]), DEFAULT_CRITERIA, true).passed).toBe(true);
    expect(judge("a", obs([30, 0.2, 400], ["baseline", 30, 0.2, 0.01]), DEFAULT_CRITERIA, true).passed).toBe(false);
  });
  it("a canary needs evidence; a later stage passes an edge with nothing to score yet", () => {
    expect(judge("a", obs([0, 0, 0]), DEFAULT_CRITERIA, true).passed).toBe(false);
    expect(judge("a", obs([0, 0, 0]), DEFAULT_CRITERIA, false).passed).toBe(true);
  });
});
