import { describe, expect, it } from "vitest";
import type { RunRow } from "../../projections/training-runs/queries.ts";
import { renderStatus, type DemoStatus, type EdgeStatus } from "./status.ts";

const URL = "http://127.0.0.1:8080/";

function givenEdge(edge: string, overrides: Partial<EdgeStatus> = {}): EdgeStatus {
  return { edge, readingsPerSecond: 0, stored: 0, rejected: 0, dlq: 0, connected: true, uplinkLag: 0, model: "baseline", inferences: 0, decisions: 0, anomalies: 0, ...overrides };
}

function givenRun(overrides: Partial<RunRow> = {}): RunRow {
  return {
    runId: "run-1",
    reason: "manual",
    detail: null,
    status: "running",
    requestedAt: "2025-03-01T00:00:00.000Z",
    fromSeq: 1,
    toSeq: 400,
    readings: 400,
    datasetHash: null,
    epochs: 8,
    epochsDone: 3,
    loss: 0.04567,
    valLoss: 0.05,
    version: null,
    published: null,
    failure: null,
    stage: null,
    ...overrides,
  };
}

function givenStatus(overrides: Partial<DemoStatus> = {}): DemoStatus {
  return {
    elapsedSeconds: 42,
    edges: [givenEdge("1"), givenEdge("2")],
    cloudReadings: 0,
    training: undefined,
    runs: { completed: 0, failed: 0, published: 0 },
    production: undefined,
    rollout: undefined,
    tasks: {},
    delay: undefined,
    utilisation: [],
    ...overrides,
  };
}

/** The status line of one edge. */
const edgeLine = (lines: string[], edge: string) => lines.find((l) => l.startsWith(`  edge ${edge}:`));
const lineOf = (lines: string[], label: string) => lines.find((l) => l.startsWith(`  ${label}:`));

describe("renderStatus", () => {
  it("heads the status with the elapsed time and the dashboard URL", () => {
    const lines = renderStatus(givenStatus(), URL);
    expect(lines[0]).toBe(`Tide demo · 42s · dashboard ${URL}`);
  });

  it("shows, per edge, its readings/s, its DLQ stream's count, its uplink lag and the model it runs", () => {
    const lines = renderStatus(
      givenStatus({
        edges: [
          givenEdge("1", { readingsPerSecond: 19.96, stored: 1200, rejected: 3, dlq: 17, uplinkLag: 250, model: "v3", inferences: 1190, decisions: 4, anomalies: 2 }),
          givenEdge("2", { readingsPerSecond: 0, dlq: undefined, connected: false, uplinkLag: undefined, model: "baseline" }),
        ],
      }),
      URL,
    );
    const one = edgeLine(lines, "1")!;
    expect(one).toContain(" 20.0 readings/s");
    expect(one).toContain("stored 1200");
    // The DLQ stream's count (every run), not the ingest's counter of this run (3).
    expect(one).toContain("DLQ 17");
    expect(one).toContain("uplink up lag 250");
    expect(one).toContain("model v3");
    expect(one).toMatch(/inferences 1190 {2}decisions 4 {2}anomalies 2$/);
    const two = edgeLine(lines, "2")!;
    expect(two).toContain("  0.0 readings/s");
    expect(two).toContain("DLQ -");
    expect(two).toContain("uplink DOWN lag -");
    expect(two).toContain("model baseline");
  });

  it("shows the cloud's readings, production model and the newest rollout at its stage", () => {
    const rollout = { rolloutId: "r-1", version: "v2", status: "running", stage: "canary (1/2)", reason: null, stages: [], edges: [] };
    const lines = renderStatus(givenStatus({ cloudReadings: 5000, production: "v2", rollout }), URL);
    expect(lineOf(lines, "cloud")).toBe("  cloud: 5000 readings received · production model v2 · rollout r-1 v2 running at canary (1/2)");
    expect(lineOf(renderStatus(givenStatus(), URL), "cloud")).toBe("  cloud: 0 readings received · production model none (baseline) · rollout none yet");
  });

  it("shows training progress: epochs done of all and the loss, then the outcome", () => {
    expect(lineOf(renderStatus(givenStatus(), URL), "training")).toBe("  training: waiting for data");
    expect(lineOf(renderStatus(givenStatus({ training: givenRun() }), URL), "training")).toBe("  training: run-1 running epoch 3/8 loss 0.0457");
    const completed = givenRun({ status: "completed", epochsDone: 8, loss: 0.01, version: "v1", published: true });
    expect(lineOf(renderStatus(givenStatus({ training: completed }), URL), "training")).toBe("  training: run-1 completed epoch 8/8 loss 0.0100 → v1 published");
    const failed = givenRun({ status: "failed", epochs: null, epochsDone: 0, loss: null, stage: "dataset", failure: "too few samples" });
    expect(lineOf(renderStatus(givenStatus({ training: failed }), URL), "training")).toBe("  training: run-1 failed (dataset: too few samples)");
  });

  it("shows tasks by state and T_delay p50/p99", () => {
    const lines = renderStatus(givenStatus({ tasks: { completed: 12, running: 1 }, delay: { p50Ms: 180.4, p99Ms: 12_345 } }), URL);
    expect(lineOf(lines, "tasks")).toBe("  tasks: 12 completed, 1 running · T_delay p50 180ms p99 12.3s");
    expect(lineOf(renderStatus(givenStatus(), URL), "tasks")).toBe("  tasks: none yet · T_delay -");
  });

  it("shows U_resource per node, '-' for a node with no measured time", () => {
    const lines = renderStatus(givenStatus({ utilisation: [{ node: "edge-1", cpu: 0.123 }, { node: "worker-demo", cpu: undefined }] }), URL);
    expect(lineOf(lines, "U_resource (CPU, 5 min)")).toBe("  U_resource (CPU, 5 min): edge-1 12%  worker-demo -");
    expect(lineOf(renderStatus(givenStatus(), URL), "U_resource (CPU, 5 min)")).toBe("  U_resource (CPU, 5 min): -");
  });
});
