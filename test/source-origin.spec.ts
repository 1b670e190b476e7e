import type { NatsConnection, StoredMsg } from "nats";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApplier, openProjectionDb, projectionCatalogue } from "../projections/index.ts";
import { openPlaces, verifyFleet } from "../src/audit/index.ts";
import { createEvent, encodeEvent } from "../src/events/envelope.ts";
import { modelActivated } from "../src/events/model.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { readTrainingReadings } from "../src/training/dataset-reader.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readBatches } from "../src/store/read-stream.ts";
import { edgeSourceOrigin, forgedOrigin, STREAM_SOURCE_HEADER } from "../src/store/source-origin.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology, tempDir } from "./harness.ts";

// The cloud READINGS stores what an edge's UPLINK delivers under the subjects it carries (nats-server 2.9.10
// applies a source's filter on the edge's side). A compromised edge runtime, with its service user on its own
// server, can therefore put readings under another edge's subjects into its UPLINK. What it cannot choose is the
// Nats-Stream-Source header the cloud's JetStream stamps on each sourced message: the cloud's projections check it.
type Given = Awaited<ReturnType<typeof givenTopology>>;
let given: Given;
let cloud: NatsConnection;
const EDGES = ["1", "2"];
const scratch = tempDir("tide-origin-");

const readingOf = (edge: string, device: string, temperature: number) =>
  encodeEvent(createEvent({ type: readingRecorded.type, data: { edge, device, ts: new Date().toISOString(), temperature, humidity: 40 } }, { source: `tide://${edgeDomain(edge)}/ingest` }));

/** The versions of the activation reports of edge 2 the cloud MODELS holds, in order. */
async function reportVersions(): Promise<string[]> {
  const versions: string[] = [];
  for await (const batch of readBatches(cloud, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: subjects.report("2") })) {
    for (const m of batch) versions.push((JSON.parse(new TextDecoder().decode(m.data)) as { version: string }).version);
  }
  return versions;
}

async function lastInCloud(subject: string): Promise<StoredMsg | undefined> {
  try {
    return await (await cloud.jetstreamManager()).streams.getMessage("READINGS", { last_by_subj: subject });
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  given = await givenTopology({ edges: 2 });
  cloud = await given.connect(CLOUD_DOMAIN);
  for (const edge of EDGES) await applyStreams({ nc: await given.connect(edge), place: "edge", domain: edgeDomain(edge), context: { edge, edges: EDGES } });
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: EDGES } });

  // Edge 2's own reading, stored on edge 2 and forwarded by its UPLINK.
  const edge2 = await given.connect("2");
  const genuine = readingOf("2", "dev-ok", 21);
  await edge2.jetstream({ domain: edgeDomain("2") }).publish(subjects.reading("2", "dev-ok"), genuine.data, { headers: genuine.headers });
  // Edge 1, compromised: its UPLINK also captures a subject of edge 2's, and it stores a reading there.
  const edge1 = await given.connect("1");
  const jsm1 = await edge1.jetstreamManager({ domain: edgeDomain("1") });
  const uplink = (await jsm1.streams.info("UPLINK")).config;
  await jsm1.streams.update("UPLINK", { ...uplink, subjects: [...(uplink.subjects ?? []), subjects.reading("2", "dev-forged")] });
  const forged = readingOf("2", "dev-forged", 99);
  await edge1.jetstream({ domain: edgeDomain("1") }).publish(subjects.reading("2", "dev-forged"), forged.data, { headers: forged.headers });
  // And its REPORTS: an activation as edge 2, which MODELS sources into the cloud's control plane.
  const reports = (await jsm1.streams.info("REPORTS")).config;
  await jsm1.streams.update("REPORTS", { ...reports, subjects: [...(reports.subjects ?? []), subjects.report("2")] });
  const report = encodeEvent(createEvent({ type: modelActivated.type, data: { edge: "2", version: "m-forged", cause: "local" } }, { source: "tide://edge-2/rollout" }));
  await edge1.jetstream({ domain: edgeDomain("1") }).publish(subjects.report("2"), report.data, { headers: report.headers });
  // Edge 2's own, genuine report.
  const own = encodeEvent(createEvent({ type: modelActivated.type, data: { edge: "2", version: "m-own", cause: "local" } }, { source: "tide://edge-2/rollout" }));
  await edge2.jetstream({ domain: edgeDomain("2") }).publish(subjects.report("2"), own.data, { headers: own.headers });
  await eventually(async () => (await reportVersions()).length, (n) => n >= 2, 20_000, "both reports in the cloud MODELS");
  for (const subject of [subjects.reading("2", "dev-ok"), subjects.reading("2", "dev-forged")]) {
    await eventually(() => lastInCloud(subject), (m) => m !== undefined, 20_000, `${subject} in the cloud READINGS`);
  }
}, 60_000);

afterAll(async () => {
  await given?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe("where a sourced reading came from", () => {
  it("the cloud stores the forged reading as edge 2's: the gap is real", async () => {
    const forged = (await lastInCloud(subjects.reading("2", "dev-forged")))!;
    expect(JSON.parse(new TextDecoder().decode(forged.data))).toMatchObject({ edge: "2", device: "dev-forged" });
  });

  it("the cloud's JetStream stamps each sourced message with its edge's UPLINK, whatever its subject", async () => {
    const genuine = (await lastInCloud(subjects.reading("2", "dev-ok")))!;
    const forged = (await lastInCloud(subjects.reading("2", "dev-forged")))!;
    expect(genuine.header.get(STREAM_SOURCE_HEADER).split(" ")[0]).toBe(edgeSourceOrigin("UPLINK", "2"));
    expect(forged.header.get(STREAM_SOURCE_HEADER).split(" ")[0]).toBe(edgeSourceOrigin("UPLINK", "1"));
    expect(edgeSourceOrigin("UPLINK", "1")).not.toBe(edgeSourceOrigin("UPLINK", "2"));
  });

  it("tells the forged reading from the genuine one, on messages as a cloud read delivers them", async () => {
    const verdicts = new Map<string, string | undefined>();
    // Raw header bytes, as readBatches delivers them (no parsed headers).
    for await (const batch of readBatches(cloud, { stream: "READINGS", domain: CLOUD_DOMAIN })) for (const m of batch) verdicts.set(m.subject, forgedOrigin(m));
    expect(verdicts.get(subjects.reading("2", "dev-ok"))).toBeUndefined();
    expect(verdicts.get(subjects.reading("2", "dev-forged"))).toMatch(/^sourced from UPLINK:\w{8}, not from edge 2 /);
  });

  it("the model registry does not believe a report as edge 2 from edge 1's REPORTS", async () => {
    expect(await reportVersions()).toEqual(["m-forged", "m-own"]);
    const projection = projectionCatalogue.find((p) => p.name === "models")!;
    const db = openProjectionDb(join(scratch, "models.db"));
    try {
      const result = await createApplier({ nc: cloud, db, projection, place: "cloud", domain: CLOUD_DOMAIN }).rebuild();
      expect(result.invalid).toBe(1);
      expect(db.prepare("SELECT edge, version FROM model_edges").all()).toEqual([{ edge: "2", version: "m-own" }]);
    } finally {
      db.close();
    }
  });

  it("training reads the genuine reading and leaves the forged one out", async () => {
    const { readings, invalid } = await readTrainingReadings(cloud, { maxReadings: 100 });
    expect(readings.map((r) => r.device)).toEqual(["dev-ok"]);
    expect(invalid).toBe(1);
  });

  it("the cloud projections skip it and count it; the genuine reading is applied", async () => {
    const projection = projectionCatalogue.find((p) => p.name === "recent_readings")!;
    const db = openProjectionDb(join(scratch, "recent.db"));
    try {
      const result = await createApplier({ nc: cloud, db, projection, place: "cloud", domain: CLOUD_DOMAIN }).rebuild();
      expect(result.invalid).toBe(1);
      const devices = (db.prepare("SELECT device FROM recent_readings").all() as Array<{ device: string }>).map((r) => r.device);
      expect(devices).toContain("dev-ok");
      expect(devices).not.toContain("dev-forged");
    } finally {
      db.close();
    }
  });

  it("tide audit verify reports each as an origin violation, and passes the genuine ones", async () => {
    const places = await openPlaces(given.topology.file);
    try {
      const report = await verifyFleet(places, { settleMs: 2000 });
      const origin = report.findings.filter((f) => f.check === "origin");
      expect(origin.map((f) => [f.severity, f.stream, f.message])).toEqual([
        ["violation", "MODELS", "1 message(s) sourced from one edge under another edge's subjects"],
        ["violation", "READINGS", "1 message(s) sourced from one edge under another edge's subjects"],
      ]);
      expect(JSON.stringify(origin.map((f) => f.details))).toContain(subjects.reading("2", "dev-forged"));
      expect(JSON.stringify(origin.map((f) => f.details))).not.toContain("dev-ok");
      // Every sourced message was looked at: the two genuine ones and the two forged ones.
      expect(report.checked.origin).toBe(4);
      expect(report.ok).toBe(false);
    } finally {
      await places.close();
    }
  });
});
