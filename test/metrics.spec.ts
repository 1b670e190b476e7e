import { rmSync, writeFileSync } from "node:fs";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { subjects } from "../src/events/index.ts";
import { startFleet, type Fleet } from "../src/fleet.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { requestRollout } from "../src/rollout/request.ts";
import { submitTask } from "../src/tasks/index.ts";
import { trainingConfigPath } from "../src/training/config.ts";
import { requestTraining } from "../src/training/run-events.ts";
import { connectTo } from "../src/topology/index.ts";
import { eventually, tempDir } from "./harness.ts";
import { givenSimulatedReadings, runEnded } from "./training-support.ts";

process.env.TIDE_TF_BACKEND = "cpu";

const dir = tempDir();
let fleet: Fleet;
const connections: NatsConnection[] = [];
const connect = async (place: string) => {
  const nc = await connectTo(fleet.topology.file, place);
  connections.push(nc);
  return nc;
};

beforeAll(async () => {
  // A small trainer, so the test can train a model in seconds; runs only when asked.
  writeFileSync(
    trainingConfigPath(dir),
    JSON.stringify({ epochs: 2, batchSize: 32, hidden: [8], minTrainSamples: 50, schedule: { everyReadings: 0, everyMinutes: 0 }, drift: { enabled: false } }),
  );
  // With its policy file the edge runs the uplink monitor (the default policy forwards every reading raw).
  fleet = await startFleet({ dir, ports: "free", edges: 1, heartbeatMs: 500, policies: true });
});

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One sample's value from a Prometheus text exposition, by name and exact label set (`{}` for none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<{ type: string; text: string }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return { type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("GET /metrics", () => {
  it("an edge counts what its ingest stored and rejected, its inferences and their latency histogram, its decisions by action, and reports its uplink and model", async () => {
    const edge = fleet.edges.get("1")!;
    const nc = await connect("1");
    const send = async (payload: string) => (await nc.request(subjects.ingest("1", "m-1"), payload, { timeout: 5000 })).json<IngestReply>();
    // One hot reading (30 °C) among cool ones: cooling goes on (>= 26 °C), then off again (<= 24 °C).
    for (let i = 0; i < 12; i++) expect((await send(JSON.stringify({ seq: i, temperature: i === 5 ? 30 : 20 + i / 10, humidity: 40 }))).ok).toBe(true);
    expect((await send("not json")).ok).toBe(false);
    expect((await send(JSON.stringify({ temperature: 999, humidity: 40 }))).ok).toBe(false);

    await eventually(() => edge.pipeline.stats.processed, (n) => n >= 12, 30_000, "12 readings inferred");
    await eventually(() => edge.activity.counts.decisions, (n) => n >= 2, 30_000, "2 decisions seen");
    const { type, text } = await scrape(edge.httpUrl);
    expect(type).toContain("text/plain");
    expect(sample(text, "tide_edge_readings_total", { outcome: "stored" })).toBe(12);
    expect(sample(text, "tide_edge_readings_total", { outcome: "rejected" })).toBe(2);
    // Nothing was turned away by the ingest bound (flow control) at this rate.
    expect(sample(text, "tide_edge_readings_total", { outcome: "shed" })).toBe(0);
    expect(sample(text, "tide_edge_dead_letters_total")).toBe(2);
    expect(sample(text, "tide_dlq_messages")).toBe(2);
    expect(sample(text, "tide_edge_inferences_total")).toBeGreaterThanOrEqual(12);
    expect(sample(text, "tide_edge_inference_latency_seconds_count", { basis: "baseline" })).toBeGreaterThanOrEqual(12);
    expect(sample(text, "tide_edge_decisions_total", { action: "cooling_on" })).toBe(1);
    expect(sample(text, "tide_edge_decisions_total", { action: "cooling_off" })).toBe(1);
    expect(sample(text, "tide_edge_model_info", { version: "baseline" })).toBe(1);
    expect(sample(text, "tide_metrics_collect_errors_total")).toBeUndefined(); // no read failed
    await eventually(async () => sample((await scrape(edge.httpUrl)).text, "tide_edge_uplink_connected"), (v) => v === 1, 15_000, "the uplink measured up");
    // Uplink lag, not the UPLINK's size: once the cloud holds all 12 readings (and the distribution stats) it is 0.
    await eventually(async () => sample((await scrape(fleet.cloud.httpUrl)).text, "tide_cloud_readings_total", { edge: "1" }), (n) => n === 12, 30_000, "12 readings in the cloud");
    await eventually(async () => sample((await scrape(edge.httpUrl)).text, "tide_edge_uplink_backlog_messages"), (v) => v === 0, 15_000, "no uplink lag");
    // Counters stay counters: a second scrape never goes down.
    await send(JSON.stringify({ seq: 99, temperature: 21, humidity: 40 }));
    const again = await scrape(edge.httpUrl);
    expect(sample(again.text, "tide_edge_readings_total", { outcome: "stored" })).toBe(13);
    expect(sample(again.text, "tide_edge_decisions_total", { action: "cooling_on" })).toBe(1);
  });

  it("the cloud reports readings received per edge, what edges report in heartbeats, and nodes from its projections", async () => {
    const url = fleet.cloud.httpUrl;
    // The 13 readings of the first test were routed up (the default policy forwards every reading raw).
    const text = await eventually(async () => (await scrape(url)).text, (t) => sample(t, "tide_cloud_readings_total", { edge: "1" }) === 13, 30_000, "13 readings counted in the cloud");
    // Readings, plus the edge's distribution stats and summaries.
    expect(sample(text, "tide_stream_messages", { stream: "READINGS" })).toBeGreaterThanOrEqual(13);
    expect(sample(text, "tide_dlq_messages")).toBe(0);
    expect(sample(text, "tide_process_resident_memory_bytes")).toBeGreaterThan(0);
    const reported = await eventually(
      async () => (await scrape(url)).text,
      (t) =>
        sample(t, "tide_edge_reported_dead_letters", { node: "edge-1" }) === 2 &&
        sample(t, "tide_edge_reported_decisions", { node: "edge-1" }) === 2 &&
        sample(t, "tide_edge_reported_uplink_backlog_messages", { node: "edge-1" }) === 0,
      30_000,
      "the edge's heartbeat activity in the cloud",
    );
    expect(sample(reported, "tide_nodes", { status: "alive" })).toBe(1);
    expect(sample(reported, "tide_edge_model_info", { node: "edge-1", version: "baseline" })).toBe(1);
    expect(sample(reported, "tide_metrics_collect_errors_total")).toBeUndefined();
  });

  it("the cloud reports tasks by state and their T_delay, training runs with progress and loss, rollouts by state, and U_resource per node", { timeout: 180_000 }, async () => {
    const url = fleet.cloud.httpUrl;
    const cloud = await connect("cloud");
    const edgeNc = await connect("1");
    // Training data: 4 simulated devices × 60 readings through the edge's READINGS, up to the cloud.
    await givenSimulatedReadings(edgeNc, cloud, "1", 60, 13 + 240);

    // A task on the edge's data: the scheduler places it on edge-1 (the only node), which runs it.
    const jsm = await cloud.jetstreamManager({ domain: edgeDomain("1") });
    const { last_seq } = (await jsm.streams.info("READINGS")).state;
    await submitTask({ kind: "aggregate", priority: 5, data: { edge: "1", fromSeq: 1, toSeq: last_seq } }, { nc: cloud, edges: ["1"], source: "tide://test/metrics" });
    // A forced training run of 2 epochs.
    const { runId } = await requestTraining(cloud.jetstream({ domain: CLOUD_DOMAIN }), { reason: "manual", force: true }, "tide://test/metrics");
    const events = await runEnded(cloud, runId, 120_000);
    const completed = events.find((e) => e.type === "tide.training.completed.v1");
    expect(completed, JSON.stringify(events.at(-1))).toBeDefined();
    const version = (completed!.data as { version: string }).version;
    const lastEpoch = events.filter((e) => e.type === "tide.training.epoch.completed.v1").at(-1)!.data as { epoch: number; loss: number; valLoss: number };
    expect(lastEpoch.epoch).toBe(2);

    const text = await eventually(
      async () => (await scrape(url)).text,
      (t) => sample(t, "tide_tasks", { state: "completed" }) === 1 && sample(t, "tide_training_runs", { status: "completed" }) === 1 && sample(t, "tide_cloud_readings_total", { edge: "1" }) === 13 + 240,
      60_000,
      "the task, the run and the training data in the cloud's projections",
    );
    // Tasks by state: the one task completed, none left in another state.
    expect(["pending", "assigned", "running", "abandoned"].map((state) => sample(text, "tide_tasks", { state }))).toEqual([undefined, undefined, undefined, undefined]);
    // One measured T_delay: both quantiles are that task's, a positive number of seconds.
    const p50 = sample(text, "tide_task_delay_seconds", { quantile: "0.5" })!;
    expect(p50).toBeGreaterThan(0);
    expect(p50).toBeLessThan(60);
    expect(sample(text, "tide_task_delay_seconds", { quantile: "0.99" })).toBe(p50);
    // The node ran it: its CPU was used for part of the window.
    const cpu = sample(text, "tide_node_utilisation_ratio", { node: "edge-1", resource: "cpu" })!;
    expect(cpu).toBeGreaterThan(0);
    expect(cpu).toBeLessThanOrEqual(1);
    // The run trained both its epochs, and its newest epoch's losses are the ones the trainer recorded.
    expect(sample(text, "tide_training_runs", { status: "failed" })).toBeUndefined();
    expect(sample(text, "tide_training_progress_ratio", { run: runId })).toBe(1);
    expect(sample(text, "tide_training_last_loss", { run: runId, split: "train" })).toBeCloseTo(lastEpoch.loss, 10);
    expect(sample(text, "tide_training_last_loss", { run: runId, split: "validation" })).toBeCloseTo(lastEpoch.valLoss, 10);
    expect(sample(text, "tide_models", { status: "published" })).toBe(1);
    expect(sample(text, "tide_model_production_info", { version })).toBe(1);

    // Rollouts by state: one to an edge the fleet does not have (rejected), one to the fleet (planned, then running or done).
    await requestRollout(cloud, { version, edges: ["9"] }, "metrics-test");
    await requestRollout(cloud, { version, strategy: "all" }, "metrics-test");
    const rollouts = await eventually(
      async () => (await scrape(url)).text,
      (t) => sample(t, "tide_rollouts", { state: "rejected" }) === 1 && ["planned", "running", "completed", "rolled_back"].some((state) => sample(t, "tide_rollouts", { state }) === 1),
      60_000,
      "both rollouts in the cloud's projection",
    );
    const states = ["requested", "planned", "running", "completed", "rolled_back", "rejected"].map((state) => sample(rollouts, "tide_rollouts", { state }) ?? 0);
    expect(states.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("unknown paths stay 404 and /metrics refuses POST", async () => {
    expect((await fetch(`${fleet.cloud.httpUrl}/metricz`)).status).toBe(404);
    expect((await fetch(`${fleet.cloud.httpUrl}/metrics`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(405);
  });

  it("a metric the cloud cannot read (its DLQ stream is gone) is counted and left out; the scrape still has every other metric", async () => {
    const cloud = await connect("cloud");
    const jsm = await cloud.jetstreamManager({ domain: CLOUD_DOMAIN });
    expect(await jsm.streams.delete("DLQ")).toBe(true);
    const { text } = await scrape(fleet.cloud.httpUrl);
    expect(sample(text, "tide_dlq_messages")).toBeUndefined();
    expect(sample(text, "tide_metrics_collect_errors_total", { metric: "tide_dlq_messages" })).toBe(1);
    expect(sample(text, "tide_cloud_readings_total", { edge: "1" })).toBe(13 + 240);
    expect(sample(text, "tide_stream_messages", { stream: "READINGS" })).toBeGreaterThanOrEqual(13 + 240);
    expect(sample(text, "tide_nodes", { status: "alive" })).toBe(1);
    const again = await scrape(fleet.cloud.httpUrl);
    expect(sample(again.text, "tide_metrics_collect_errors_total", { metric: "tide_dlq_messages" })).toBe(2);
  });
});
