import { StorageType, type NatsConnection, type StreamInfo } from "nats";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StreamConfigError } from "../src/errors.ts";
import { createEvent } from "../src/events/envelope.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { applyStreams, type ApplyResult } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";

type Given = Awaited<ReturnType<typeof givenTopology>>;

const EDGES = ["1", "2", "3"];
const EDGE_STREAMS = ["DLQ", "INFERENCES", "READINGS", "REPORTS", "UPLINK"];
const CLOUD_STREAMS = ["DLQ", "MODELS", "NODES", "OBJ_models", "READINGS", "ROLLOUTS", "TASKS", "TRAINING"];

let given: Given;
const connections = new Map<string, NatsConnection>();

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  for (const place of ["cloud", ...EDGES]) connections.set(place, await given.connect(place));
});

afterAll(async () => {
  await given?.cleanup();
});

const nc = (place: string) => connections.get(place)!;
const domainOf = (place: string) => (place === "cloud" ? CLOUD_DOMAIN : edgeDomain(place));

/** Tide's streams of a place, by name (nats-server's own `$MQTT_*` streams are not Tide's). */
async function streamInfos(place: string): Promise<StreamInfo[]> {
  const jsm = await nc(place).jetstreamManager({ domain: domainOf(place) });
  const infos = await jsm.streams.list().next();
  return infos.filter((i) => !i.config.name.startsWith("$MQTT_")).sort((a, b) => a.config.name.localeCompare(b.config.name));
}

// Each test starts from empty JetStream everywhere, so none depends on what another left behind.
beforeEach(async () => {
  for (const place of ["cloud", ...EDGES]) {
    const jsm = await nc(place).jetstreamManager({ domain: domainOf(place) });
    for (const info of await streamInfos(place)) await jsm.streams.delete(info.config.name);
  }
});

const applyEdge = (edge: string, edges = EDGES) => applyStreams({ nc: nc(edge), place: "edge", domain: edgeDomain(edge), context: { edge, edges } });
const applyCloud = (edges: readonly string[]) => applyStreams({ nc: nc("cloud"), place: "cloud", domain: CLOUD_DOMAIN, context: { edges } });
const actions = (results: ApplyResult[]) => Object.fromEntries(results.map((r) => [r.stream, r.action]));

describe("stream catalogue", () => {
  it("creates every edge and cloud stream, and re-applying changes nothing", async () => {
    const edgeFirst = await applyEdge("1");
    expect(actions(edgeFirst)).toEqual(Object.fromEntries(EDGE_STREAMS.map((s) => [s, "created"])));
    const cloudFirst = await applyCloud(["1"]);
    expect(actions(cloudFirst)).toEqual(Object.fromEntries(CLOUD_STREAMS.map((s) => [s, "created"])));

    const edgeBefore = await streamInfos("1");
    const cloudBefore = await streamInfos("cloud");
    expect(edgeBefore.map((i) => i.config.name)).toEqual(EDGE_STREAMS);
    expect(cloudBefore.map((i) => i.config.name)).toEqual(CLOUD_STREAMS);
    // Spot checks that the definitions were applied, not just the names.
    const edgeReadings = edgeBefore.find((i) => i.config.name === "READINGS")!.config;
    expect(edgeReadings.subjects).toEqual(["tide.reading.1.>"]);
    expect(edgeReadings.storage).toBe(StorageType.File);
    const uplink = edgeBefore.find((i) => i.config.name === "UPLINK")!.config;
    expect(uplink.sources?.map((s) => [s.name, s.filter_subject])).toEqual([["READINGS", "tide.reading.1.*.up"]]);
    const cloudReadings = cloudBefore.find((i) => i.config.name === "READINGS")!.config;
    expect(cloudReadings.subjects ?? []).toEqual([]);
    expect(cloudReadings.sources?.map((s) => s.external?.api)).toEqual(["$JS.edge-1.API"]);

    const edgeAgain = await applyEdge("1");
    const cloudAgain = await applyCloud(["1"]);
    expect(edgeAgain.every((r) => r.action === "unchanged" && r.changed.length === 0)).toBe(true);
    expect(cloudAgain.every((r) => r.action === "unchanged" && r.changed.length === 0)).toBe(true);
    expect(edgeAgain.map((r) => r.stream).sort()).toEqual(EDGE_STREAMS);
    expect(cloudAgain.map((r) => r.stream).sort()).toEqual(CLOUD_STREAMS);

    const edgeAfter = await streamInfos("1");
    const cloudAfter = await streamInfos("cloud");
    // Same configs, and the same streams (not deleted and recreated: same creation time).
    expect(edgeAfter.map((i) => [i.config, i.created])).toEqual(edgeBefore.map((i) => [i.config, i.created]));
    expect(cloudAfter.map((i) => [i.config, i.created])).toEqual(cloudBefore.map((i) => [i.config, i.created]));
  });

  it("adds an edge as a new source of the cloud READINGS and MODELS", async () => {
    for (const edge of ["1", "2"]) await applyEdge(edge);
    await applyCloud(["1"]);
    const jsm = await nc("cloud").jetstreamManager({ domain: CLOUD_DOMAIN });
    expect((await jsm.streams.info("READINGS")).config.sources?.map((s) => s.external?.api)).toEqual(["$JS.edge-1.API"]);

    const results = await applyCloud(["1", "2"]);
    const readings = results.find((r) => r.stream === "READINGS")!;
    expect(readings).toEqual({ stream: "READINGS", action: "updated", changed: ["sources"] });
    // MODELS sources each edge's REPORTS (activations and observations) the same way.
    expect(results.find((r) => r.stream === "MODELS")).toEqual({ stream: "MODELS", action: "updated", changed: ["sources"] });
    expect(results.filter((r) => r.stream !== "READINGS" && r.stream !== "MODELS").every((r) => r.action === "unchanged")).toBe(true);
    expect(((await jsm.streams.info("MODELS")).config.sources ?? []).map((s) => s.external?.api).sort()).toEqual(["$JS.edge-1.API", "$JS.edge-2.API"]);
    const sources = (await jsm.streams.info("READINGS")).config.sources ?? [];
    expect(sources.map((s) => s.external?.api).sort()).toEqual(["$JS.edge-1.API", "$JS.edge-2.API"]);

    // The new source works: a reading stored on edge 2 reaches the cloud.
    const event = createEvent(
      { type: readingRecorded.type, data: { edge: "2", device: "new-edge", ts: new Date().toISOString(), temperature: 20, humidity: 50 } },
      { source: "tide://test/streams" },
    );
    const subject = subjects.reading("2", "new-edge");
    await appendToStream(nc("2").jetstream({ domain: edgeDomain("2") }), subject, event);
    const copy = await eventually(
      () => jsm.streams.getMessage("READINGS", { last_by_subj: subject }).catch(() => undefined),
      (msg) => msg !== undefined,
      20_000,
      "edge 2's reading in the cloud READINGS",
    );
    expect(copy!.header.get("ce-id")).toBe(event.metadata.id);
  });

  it("refuses an impossible change with a StreamConfigError naming the stream and the field", async () => {
    const jsm = await nc("3").jetstreamManager({ domain: edgeDomain("3") });
    await jsm.streams.add({ name: "READINGS", subjects: ["tide.reading.3.>"], storage: StorageType.Memory });

    const attempt = applyEdge("3");
    await expect(attempt).rejects.toBeInstanceOf(StreamConfigError);
    const error = (await attempt.catch((e: unknown) => e)) as StreamConfigError;
    expect(error.message).toMatch(/\bREADINGS\b/);
    expect(error.message).toMatch(/\bstorage\b/);
    expect(error.code).toBe("STREAM");

    // Nothing was changed: the stream kept its storage, and nothing after it in the catalogue was applied.
    expect((await jsm.streams.info("READINGS")).config.storage).toBe(StorageType.Memory);
    expect((await streamInfos("3")).map((i) => i.config.name)).toEqual(["READINGS"]);
  });
});
