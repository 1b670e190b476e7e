import { describe, expect, it } from "vitest";
import type { TideEvent } from "../events/catalogue.ts";
import { decideLiveness, evolveLiveness, initialLiveness, type LivenessState } from "./liveness.ts";

const T0 = Date.parse("2026-01-01T00:00:00Z");
type NodeEvent = TideEvent<"tide.node.registered.v1" | "tide.node.heartbeat.v1" | "tide.node.lost.v1">;
const given = (...facts: Fact[]): LivenessState =>
  facts.reduce(
    (state, f, i) => evolveLiveness(state, { seq: i + 1, subject: "s", pending: 0, storedAt: new Date(T0 + f.at).toISOString(), event: { ...f.event, metadata: { id: `${i}`, source: "s", time: "" } } as NodeEvent }),
    initialLiveness(),
  );
type Fact = { at: number; event: Omit<NodeEvent, "metadata"> };
const registered = (at: number): Fact => ({ at, event: { type: "tide.node.registered.v1", data: { node: "n", kind: "cloud", resources: { cpus: 1, memoryMb: 1 }, kinds: [], heartbeatMs: 1000 } } });
const beat = (at: number): Fact => ({ at, event: { type: "tide.node.heartbeat.v1", data: { node: "n", cpuLoad: 0, memoryMb: 1, freeMemoryMb: 1, queueDepth: 0 } } });
const lost = (at: number): Fact => ({ at, event: { type: "tide.node.lost.v1", data: { node: "n", lastSeen: new Date(T0).toISOString(), missedHeartbeats: 3 } } });
const when = (state: LivenessState, at: number) => decideLiveness({ type: "detect", now: T0 + at }, state);

describe("node-loss detection", () => {
  it("declares a node lost after it missed three heartbeats, expecting its last sequence", () => {
    const state = given(registered(0), beat(1000));
    expect(when(state, 4000)).toEqual([]);
    expect(when(state, 4001)).toEqual([{ node: "n", expectedSeq: 2, event: { type: "tide.node.lost.v1", data: { node: "n", lastSeen: new Date(T0 + 1000).toISOString(), missedHeartbeats: 3 } } }]);
  });
  it("does not declare it twice, and takes it back when it beats again", () => {
    expect(when(given(registered(0), lost(5000)), 60_000)).toEqual([]);
    expect(when(given(registered(0), lost(5000), beat(6000)), 7000)).toEqual([]);
    expect(when(given(registered(0), lost(5000), beat(6000)), 9001)).toHaveLength(1);
  });
});
