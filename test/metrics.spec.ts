import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { subjects } from "../src/events/index.ts";
import { eventually, givenFleet } from "./harness.ts";

process.env.TIDE_TF_BACKEND = "cpu";

let given: Awaited<ReturnType<typeof givenFleet>>;

beforeAll(async () => {
  // With its policy file the edge runs the uplink monitor (the policy forwards every reading raw).
  given = await givenFleet({ edges: 1, heartbeatMs: 500, policies: true });
});

afterAll(async () => {
  await given?.cleanup();
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
  it("an edge counts what its ingest stored and rejected, its inferences and their latency histogram, and reports its uplink and model", async () => {
    const edge = given.fleet.edges.get("1")!;
    const nc = await given.connect("1");
    const send = async (payload: string) => (await nc.request(subjects.ingest("1", "m-1"), payload, { timeout: 5000 })).json<IngestReply>();
    for (let i = 0; i < 12; i++) expect((await send(JSON.stringify({ seq: i, temperature: 20 + i / 10, humidity: 40 }))).ok).toBe(true);
    expect((await send("not json")).ok).toBe(false);
    expect((await send(JSON.stringify({ temperature: 999, humidity: 40 }))).ok).toBe(false);

    await eventually(() => edge.pipeline.stats.processed, (n) => n >= 12, 30_000, "12 readings inferred");
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
    expect(sample(text, "tide_edge_model_info", { version: "baseline" })).toBe(1);
    await eventually(async () => sample((await scrape(edge.httpUrl)).text, "tide_edge_uplink_connected"), (v) => v === 1, 15_000, "the uplink measured up");
    expect(sample(text, "tide_edge_uplink_backlog_messages")).toBeGreaterThanOrEqual(0);
    // Counters stay counters: a second scrape never goes down.
    await send(JSON.stringify({ seq: 99, temperature: 21, humidity: 40 }));
    const again = await scrape(edge.httpUrl);
    expect(sample(again.text, "tide_edge_readings_total", { outcome: "stored" })).toBe(13);
  });

  it("the cloud reports readings received per edge, what edges report in heartbeats, tasks, training and nodes from its projections", async () => {
    const url = given.fleet.cloud.httpUrl;
    // The 13 readings of the first test were routed up (no policy: every reading raw).
    const text = await eventually(async () => (await scrape(url)).text, (t) => sample(t, "tide_cloud_readings_total", { edge: "1" }) === 13, 30_000, "13 readings counted in the cloud");
    // Readings, plus the edge's distribution stats and summaries.
    expect(sample(text, "tide_stream_messages", { stream: "READINGS" })).toBeGreaterThanOrEqual(13);
    expect(sample(text, "tide_dlq_messages")).toBe(0);
    expect(sample(text, "tide_process_resident_memory_bytes")).toBeGreaterThan(0);
    const reported = await eventually(
      async () => (await scrape(url)).text,
      (t) => sample(t, "tide_edge_reported_dead_letters", { node: "edge-1" }) === 2 && sample(t, "tide_edge_reported_uplink_backlog_messages", { node: "edge-1" }) !== undefined,
      30_000,
      "the edge's heartbeat activity in the cloud",
    );
    expect(sample(reported, "tide_nodes", { status: "alive" })).toBe(1);
    expect(sample(reported, "tide_edge_model_info", { node: "edge-1", version: "baseline" })).toBe(1);
  });

  it("unknown paths stay 404 and /metrics refuses POST", async () => {
    expect((await fetch(`${given.fleet.cloud.httpUrl}/metricz`)).status).toBe(404);
    expect((await fetch(`${given.fleet.cloud.httpUrl}/metrics`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(405);
  });
});
