import Database from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
import type { TideEventBody } from "../../src/events/catalogue.ts";
import { createEvent } from "../../src/events/envelope.ts";
import type { StoredEvent } from "../../src/store/read-stream.ts";
import type { Projection } from "../engine/projection.ts";
import { nodeModelsProjection } from "../node-models/projection.ts";
import { RECENT_READINGS_PER_DEVICE, recentReadingsProjection } from "../recent-readings/projection.ts";
import { trainingRunsProjection } from "../training-runs/projection.ts";
import { modelsProjection } from "./projection.ts";

let seq = 0;
/** Apply events to a projection in a fresh in-memory database, as the applier would (handlers only). */
function given(projection: Projection) {
  const db = new Database(":memory:");
  db.exec(projection.schema);
  const { flush, ...handlers } = projection.handlers(db) as Record<string, (e: StoredEvent) => void> & { flush?: () => void };
  return {
    db,
    when(...bodies: TideEventBody[]) {
      for (const body of bodies) {
        const event = createEvent(body, { source: "tide://test", time: `2025-01-01T00:00:${String(++seq % 60).padStart(2, "0")}.000Z` }) as StoredEvent["event"];
        handlers[body.type]?.({ seq, subject: "x", storedAt: event.metadata.time, pending: 0, event });
      }
      flush?.();
    },
    rows: (sql: string) => db.prepare(sql).all() as Record<string, unknown>[],
  };
}

const hash = "ab".repeat(32);
const evaluated = (version: string, accepted: boolean, production?: { version: string; mae: number }): TideEventBody => ({
  type: "tide.model.evaluated.v1",
  data: {
    runId: `run-${version}`,
    version,
    candidate: { mae: 0.1 },
    persistence: { mae: 0.2 },
    ...(production ? { production } : {}),
    accepted,
    forced: false,
    testSamples: 50,
    reason: "r",
    dataRange: { fromSeq: 1, toSeq: 400 },
    datasetHash: hash,
  },
});
const published = (version: string, parentVersion?: string): TideEventBody => ({
  type: "tide.model.published.v1",
  data: {
    version,
    ...(parentVersion ? { parentVersion } : {}),
    runId: `run-${version}`,
    dataRange: { fromSeq: 1, toSeq: 500 },
    datasetHash: hash,
    metrics: { mae: 0.1 },
    artifact: { bucket: "models", name: version, quantization: "none", digest: { sha256: hash, size: 1234 } },
  },
});

describe("models projection (registry)", () => {
  it("records candidates, publications with lineage, and the production model", () => {
    const g = given(modelsProjection);
    g.when(evaluated("v1", true), published("v1"), evaluated("v2", false, { version: "v1", mae: 0.09 }), evaluated("v3", true, { version: "v1", mae: 0.12 }), published("v3", "v1"));
    expect(g.rows("SELECT version, status, parent_version, production_version, from_seq, to_seq, sha256, size FROM models ORDER BY version")).toEqual([
      { version: "v1", status: "published", parent_version: null, production_version: null, from_seq: 1, to_seq: 500, sha256: hash, size: 1234 },
      { version: "v2", status: "rejected", parent_version: null, production_version: "v1", from_seq: 1, to_seq: 400, sha256: null, size: null },
      { version: "v3", status: "published", parent_version: "v1", production_version: "v1", from_seq: 1, to_seq: 500, sha256: hash, size: 1234 },
    ]);
    expect(g.rows("SELECT version FROM model_production")).toEqual([{ version: "v3" }]);
  });

  it("records which version each edge runs; a failed activation changes the status, not what runs", () => {
    const g = given(modelsProjection);
    g.when(
      { type: "tide.model.activated.v1", data: { edge: "1", version: "v1" } },
      { type: "tide.model.activated.v1", data: { edge: "1", version: "v2", previousVersion: "v1" } },
      { type: "tide.model.activation_failed.v1", data: { edge: "2", version: "v2", reason: "digest mismatch" } },
      { type: "tide.model.activated.v1", data: { edge: "3", version: "v1" } },
      { type: "tide.model.activation_failed.v1", data: { edge: "3", version: "v2", reason: "bad signature", rolloutId: "r1" } },
    );
    expect(g.rows("SELECT edge, version, previous_version, rollout_id, status, reason FROM model_edges ORDER BY edge")).toEqual([
      { edge: "1", version: "v2", previous_version: "v1", rollout_id: null, status: "active", reason: null },
      { edge: "2", version: "baseline", previous_version: null, rollout_id: null, status: "failed", reason: "v2 failed: digest mismatch" },
      { edge: "3", version: "v1", previous_version: null, rollout_id: "r1", status: "failed", reason: "v2 failed: bad signature" },
    ]);
  });
});

describe("training_runs projection", () => {
  it("follows a run from request to its end", () => {
    const g = given(trainingRunsProjection);
    g.when(
      { type: "tide.training.requested.v1", data: { runId: "r1", reason: "drift", detail: "mae up", force: false } },
      {
        type: "tide.training.started.v1",
        data: { runId: "r1", trainer: "t", fromSeq: 3, toSeq: 90, readings: 88, devices: 2, samples: { train: 50, validation: 10, test: 10 }, datasetHash: hash, backend: "cpu", epochs: 2, window: 8, batchSize: 32 },
      },
      { type: "tide.training.epoch.completed.v1", data: { runId: "r1", epoch: 1, epochs: 2, loss: 0.5, valLoss: 0.6, samples: 50, durationMs: 3 } },
      { type: "tide.training.failed.v1", data: { runId: "r1", reason: "trainer crashed", stage: "crash" } },
    );
    expect(g.rows("SELECT run_id, reason, status, from_seq, to_seq, epochs, epochs_done, loss, failure, stage FROM training_runs")).toEqual([
      { run_id: "r1", reason: "drift", status: "failed", from_seq: 3, to_seq: 90, epochs: 2, epochs_done: 1, loss: 0.5, failure: "trainer crashed", stage: "crash" },
    ]);
  });
});

describe("node_models projection", () => {
  it("keeps each node's reported model version and when it changed", () => {
    const g = given(nodeModelsProjection);
    const beat = (modelVersion: string): TideEventBody => ({ type: "tide.node.heartbeat.v1", data: { node: "edge-1", cpuLoad: 0.1, memoryMb: 100, freeMemoryMb: 1000, queueDepth: 0, modelVersion, backend: "wasm" } });
    g.when({ type: "tide.node.registered.v1", data: { node: "edge-1", kind: "edge", edge: "1", resources: { cpus: 2, memoryMb: 1024 }, kinds: [] } }, beat("baseline"), beat("v1"));
    const sinceV1 = g.rows("SELECT since FROM node_models")[0]!.since;
    g.when(beat("v1"));
    expect(g.rows("SELECT node, kind, edge, model_version, backend, since FROM node_models")).toEqual([{ node: "edge-1", kind: "edge", edge: "1", model_version: "v1", backend: "wasm", since: sinceV1 }]);
  });
});

describe("recent_readings projection", () => {
  it(`keeps the newest ${RECENT_READINGS_PER_DEVICE} readings per device`, () => {
    const g = given(recentReadingsProjection);
    const reading = (device: string, i: number): TideEventBody => ({
      type: "tide.reading.recorded.v1",
      data: { edge: "1", device, ts: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(), temperature: 20 + i / 100, humidity: 40 },
    });
    for (let i = 0; i < RECENT_READINGS_PER_DEVICE + 10; i++) g.when(reading("a", i));
    g.when(reading("b", 0));
    const counts = g.rows("SELECT device, COUNT(*) AS n, MIN(temperature) AS oldest FROM recent_readings GROUP BY device ORDER BY device");
    expect(counts).toEqual([
      { device: "a", n: RECENT_READINGS_PER_DEVICE, oldest: 20.1 },
      { device: "b", n: 1, oldest: 20 },
    ]);
  });
});
