import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendReading } from "./edge-support.ts";
import { givenFaultSystem, type FaultSystem } from "./faults/system.ts";
import { checkAfterFuzz } from "./fuzz/check.ts";
import { runFuzz, snapshotForFuzz } from "./fuzz/drive.ts";

let system: FaultSystem;

beforeAll(async () => {
  system = await givenFaultSystem({ edges: ["1"] });
  // Some real data first, so "projections unchanged" compares something.
  const nc = await system.connect("1");
  for (let i = 0; i < 20; i++) expect((await sendReading(nc, "1", `real-${i % 4}`, 20 + i / 10)).ok).toBe(true);
});
afterAll(async () => {
  await system?.cleanup();
});

describe("fuzz (small; `npm run fuzz` sends 100,000+)", () => {
  it("rejects every malformed message clearly, dead-letters every bad reading, stores nothing, changes no projection, crashes nothing", async () => {
    const nc = await system.connect("1");
    // Wait until the real readings are projected everywhere before taking the snapshot.
    await new Promise((r) => setTimeout(r, 3000));
    const before = await snapshotForFuzz(system);
    const counts = await runFuzz(system, { ingestNats: 1850, ingestMqtt: 250, mqttTopics: 150, offload: 200, http: 450, httpRead: 200, seed: "spec" });
    const verdict = await checkAfterFuzz(system, before, counts);
    expect(verdict.problems.join("\n")).toBe("");
    expect(verdict.messages).toBe(3100);
    expect(Object.keys(counts.reasons).length).toBeGreaterThanOrEqual(6);
    // Junk topics were dropped (PUBACK) and some closed their connection; the read-only routes answered.
    expect(counts.topicOutcomes).toMatchObject({ puback: expect.any(Number), closed: expect.any(Number) });
    expect(counts.readStatuses).toMatchObject({ "200": expect.any(Number), "405": expect.any(Number) });
    // And the edge still takes a good reading.
    expect(await sendReading(nc, "1", "real-after", 21)).toMatchObject({ ok: true, duplicate: false });
  });
});
