import { describe, expect, it } from "vitest";
import { addSample, EMPTY_FIT, predict } from "./fit.ts";
import { queueEstimate, transmitEstimate } from "./latency.ts";
import { initialState } from "./evolve.ts";
import { DEFAULT_SCHEDULER_CONFIG, type NodeInfo, type SchedulerState, type TaskSpec } from "./types.ts";

const spec = (data?: TaskSpec["data"]): TaskSpec => ({ taskId: "t", kind: "aggregate", needs: { cpu: 1, memoryMb: 100 }, priority: 4, payload: {}, ...(data ? { data } : {}) });
const node = (over: Partial<NodeInfo>): NodeInfo => ({ node: "n", kind: "cloud", cpus: 2, memoryMb: 1000, kinds: [], lastSeenAt: 0, lost: false, ...over });

describe("T_queue: the node's queue, simulated", () => {
  it("is zero on an idle node, and while a CPU is free", () => {
    expect(queueEstimate([], 2, { priority: 4, cpu: 1 })).toBe(0);
    expect(queueEstimate([{ priority: 4, cpu: 1, memoryMb: 1, remainingMs: 900, started: true }], 2, { priority: 4, cpu: 1 })).toBe(0);
  });
  it("waits for the earliest finish when the CPUs are taken", () => {
    const running = [
      { priority: 4, cpu: 1, memoryMb: 1, remainingMs: 900, started: true },
      { priority: 4, cpu: 1, memoryMb: 1, remainingMs: 300, started: true },
    ];
    expect(queueEstimate(running, 2, { priority: 4, cpu: 1 })).toBe(300);
    expect(queueEstimate(running, 2, { priority: 4, cpu: 2 })).toBe(900);
  });
  it("counts queued work of the same or higher priority, not lower", () => {
    const work = [
      { priority: 9, cpu: 1, memoryMb: 1, remainingMs: 200, started: false },
      { priority: 1, cpu: 1, memoryMb: 1, remainingMs: 5000, started: false },
    ];
    expect(queueEstimate(work, 1, { priority: 5, cpu: 1 })).toBe(200);
    expect(queueEstimate(work, 1, { priority: 0, cpu: 1 })).toBe(5200);
  });
});

describe("T_transmit: data size over measured bandwidth, plus RTT", () => {
  // Three transfers on edge 1's uplink: 30 ms fixed + 500 ms per MB (2 MB/s).
  const uplink = [1, 2, 3].reduce((fit, mb) => addSample(fit, mb, 30 + 500 * mb), EMPTY_FIT);
  const state: SchedulerState = { ...initialState(), links: new Map([["1", uplink]]) };
  it("moves nothing without data", () => expect(transmitEstimate(spec(), node({}), state, DEFAULT_SCHEDULER_CONFIG).ms).toBe(0));
  it("uses what transfers on an edge's uplink measured: fixed cost and bandwidth", () => {
    const t = transmitEstimate(spec({ edge: "1", bytes: 4_000_000 }), node({}), state, DEFAULT_SCHEDULER_CONFIG);
    expect(t.ms).toBeCloseTo(2030);
    expect(t.why).toContain("measured 30.0 ms + 500.0 ms/MB");
  });
  it("assumes a bandwidth for a link nothing crossed yet, plus the edge's reported RTT", () => {
    const edge3 = node({ node: "edge-3", kind: "edge", edge: "3", rttMs: 40 });
    const t = transmitEstimate(spec({ edge: "3", bytes: 2_500_000 }), node({}), { ...state, nodes: new Map([["edge-3", edge3]]) }, DEFAULT_SCHEDULER_CONFIG);
    expect(t.ms).toBeCloseTo(40 + 2000);
    expect(t.why).toContain("(assumed)");
  });
  it("crosses both uplinks between two edges, at the slower one", () => {
    const t = transmitEstimate(spec({ edge: "1", bytes: 4_000_000 }), node({ kind: "edge", edge: "2", rttMs: 10 }), state, DEFAULT_SCHEDULER_CONFIG);
    // Link 2 (unmeasured, 1.25 MB/s) is slower than link 1 (2 MB/s): its time, plus link 1's round trip.
    expect(t.ms).toBeCloseTo(10 + (4_000_000 / DEFAULT_SCHEDULER_CONFIG.defaultBandwidthBps) * 1000 + DEFAULT_SCHEDULER_CONFIG.defaultRttMs);
  });
  it("only reads locally when the data is on the node's own edge", () => {
    const t = transmitEstimate(spec({ edge: "2", bytes: 5_000_000 }), node({ kind: "edge", edge: "2" }), state, DEFAULT_SCHEDULER_CONFIG);
    expect(t.ms).toBeCloseTo((5_000_000 / DEFAULT_SCHEDULER_CONFIG.defaultLocalBandwidthBps) * 1000);
  });
});

describe("the learned compute fit", () => {
  it("knows nothing before a sample, the mean after one, the line after a few", () => {
    expect(predict(EMPTY_FIT, 1)).toBeUndefined();
    expect(predict(addSample(EMPTY_FIT, 1, 100), 5)).toBe(100);
    let fit = EMPTY_FIT;
    for (const x of [1, 2, 3, 4]) fit = addSample(fit, x, 50 + 100 * x);
    expect(predict(fit, 10)).toBeCloseTo(1050);
  });
  it("follows a node that got slower", () => {
    let fit = EMPTY_FIT;
    for (let i = 0; i < 10; i++) fit = addSample(fit, 1, 100);
    for (let i = 0; i < 10; i++) fit = addSample(fit, 1, 300);
    expect(predict(fit, 1)).toBeGreaterThan(250);
  });
});
