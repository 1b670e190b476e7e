import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCloudServices, type CloudServices } from "../src/cloud/cloud-services.ts";
import type { ReadingData } from "../src/events/index.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { seededRandom } from "../src/model/synthetic.ts";
import { readStream } from "../src/store/read-stream.ts";
import { eventually, givenTopology } from "./harness.ts";
import { dataOf, givenReadings, givenSimulatedReadings, givenStreams, runEnded, simulatedReadings } from "./training-support.ts";

const EDGE = "1";
const TICKS = 300; // 4 devices -> 1200 readings

let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: CloudServices;
let cloudNc: NatsConnection;
let edgeNc: NatsConnection;

/** Every training request so far: run id, reason, detail. */
async function requests(): Promise<Array<{ runId: string; reason: string; detail?: string }>> {
  const out: Array<{ runId: string; reason: string; detail?: string }> = [];
  for await (const { event } of readStream(cloudNc, { stream: "TRAINING", domain: CLOUD_DOMAIN })) {
    if (event.type === "tide.training.requested.v1") out.push({ runId: event.data.runId, reason: event.data.reason, ...(event.data.detail ? { detail: event.data.detail } : {}) });
  }
  return out;
}

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  cloudNc = await given.connect(CLOUD_DOMAIN);
  edgeNc = await given.connect(EDGE);
  await givenStreams(edgeNc, cloudNc, EDGE);
  cloud = await startCloudServices({
    topology: given.topology.file,
    logger: silentLogger,
    training: {
      epochs: 8,
      batchSize: 32,
      minTrainSamples: 50,
      schedule: { everyReadings: 1000, everyMinutes: 0, checkSeconds: 0.2 },
      drift: { enabled: true, checkSeconds: 0.3, minSamples: 50, ratio: 2, minMae: 0.3, cooldownMinutes: 60 },
    },
  });
});

afterAll(async () => {
  await cloud?.stop();
  await given?.cleanup();
});

describe("training triggers", () => {
  let version: string;

  it("the schedule requests a run once enough new readings reached the cloud", async () => {
    expect(await requests()).toEqual([]);
    await givenSimulatedReadings(edgeNc, cloudNc, EDGE, TICKS, 4 * TICKS);
    const [scheduled] = await eventually(requests, (r) => r.length > 0, 30_000, "a scheduled request");
    expect(scheduled).toMatchObject({ reason: "schedule", detail: expect.stringMatching(/^\d+ new reading\(s\) since the last run's data \(every 1000 readings\)$/) });
    // Readings arrive while the schedule checks: it fires at the first check that sees at least 1000.
    expect(Number(/^(\d+)/.exec(scheduled!.detail!)![1])).toBeGreaterThanOrEqual(1000);
    const completed = dataOf(await runEnded(cloudNc, scheduled!.runId), "tide.training.completed.v1");
    expect(completed.published).toBe(true);
    version = completed.version;
    // The cloud's joint-inference engine now runs it: what the drift monitor measures.
    await eventually(() => cloud.engine.activeVersion(), (v) => v === version, 20_000, "production model in the cloud engine");
    expect((await requests()).length).toBe(1);
  });

  it("drift: when the production model's error on the newest readings rises past the threshold, a run is requested", async () => {
    // The devices' sensors go bad: the same climate plus ±3 °C of noise, which no forecaster predicts.
    const random = seededRandom(99);
    const noisy: ReadingData[] = simulatedReadings(EDGE, 60, TICKS).map((r) => ({ ...r, temperature: r.temperature + (random() * 6 - 3) }));
    await givenReadings(edgeNc, cloudNc, noisy, 4 * (TICKS + 60));
    const drift = await eventually(async () => (await requests()).find((r) => r.reason === "drift"), (r) => r !== undefined, 30_000, "a drift request");
    expect(drift!.detail).toMatch(new RegExp(`^production ${version}: MAE \\d+\\.\\d+ °C on \\d+ forecasts of the newest cloud readings vs \\d+\\.\\d+ °C at publication`));
    const mae = Number(/MAE (\d+\.\d+) °C/.exec(drift!.detail!)![1]);
    expect(mae).toBeGreaterThan(0.3);
    // Not another scheduled run: 240 new readings are under the 1000 of the schedule.
    expect((await requests()).filter((r) => r.reason === "schedule")).toHaveLength(1);
  });
});
