import type { NatsConnection } from "nats";
import { tide } from "./cli-support.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OFFLOAD_SUBJECT, OffloadReply } from "../edge-runtime/offload.ts";
import { startCloudServices, type CloudServices } from "../src/cloud/cloud-services.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { loadModelArtifact, sha256 } from "../src/model/artifact.ts";
import { selectBackend } from "../src/model/backend.ts";
import { modelVerifierFromDir } from "../src/model/signing.ts";
import { normaliser } from "../src/model/features.ts";
import { evaluateForecastModel, predictTemperatures } from "../src/model/forecast-model.ts";
import { buildDataset } from "../src/training/dataset.ts";
import { readTrainingReadings } from "../src/training/dataset-reader.ts";
import { readStream } from "../src/store/read-stream.ts";
import { requestTraining } from "../src/training/run-events.ts";
import { eventually, givenTopology } from "./harness.ts";
import { dataOf, givenSimulatedReadings, givenStreams, modelEvents, runEnded } from "./training-support.ts";

const EDGE = "1";
const TICKS = 400; // 4 devices -> 1600 readings
const EPOCHS = 8;
const config = { epochs: EPOCHS, batchSize: 32, minTrainSamples: 50, schedule: { everyMinutes: 0 }, drift: { enabled: false } };

let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: CloudServices;
let cloudNc: NatsConnection;
let edgeNc: NatsConnection;
/** Stored-time bounds of the first batch of readings. */
let filledSince: Date;
let filledUntil: Date;


async function post(path: string, body: string, contentType = "application/json") {
  const res = await fetch(`${cloud.httpUrl}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  cloudNc = await given.connect(CLOUD_DOMAIN);
  edgeNc = await given.connect(EDGE);
  await givenStreams(edgeNc, cloudNc, EDGE);
  filledSince = new Date();
  await givenSimulatedReadings(edgeNc, cloudNc, EDGE, TICKS, 4 * TICKS);
  filledUntil = new Date();
  cloud = await startCloudServices({ topology: given.topology.file, logger: silentLogger, training: config });
});

afterAll(async () => {
  await cloud?.stop();
  await given?.cleanup();
});

describe("training in the cloud", () => {
  let runId: string;
  let published: Awaited<ReturnType<typeof dataOf<"tide.model.published.v1">>>;

  it("POST /train starts a run that trains on simulator data and beats persistence on held-out data", async () => {
    const res = await post("/train", JSON.stringify({ epochs: EPOCHS }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "requested", runId: expect.stringMatching(/^run-/) });
    runId = String(res.body.runId);
    const events = await runEnded(cloudNc, runId);
    expect(dataOf(events, "tide.training.requested.v1")).toMatchObject({ reason: "api", epochs: EPOCHS });
    const completed = dataOf(events, "tide.training.completed.v1");
    expect(completed.published).toBe(true);
    const models = await modelEvents(cloudNc, completed.version);
    const evaluated = dataOf(models, "tide.model.evaluated.v1");
    expect(evaluated.runId).toBe(runId);
    expect(evaluated.testSamples).toBeGreaterThan(100);
    expect(evaluated.candidate.mae).toBeLessThan(evaluated.persistence.mae);
    expect(evaluated.accepted).toBe(true);
    published = dataOf(models, "tide.model.published.v1");
    // The registry projection has it as production (GET /models on the cloud API).
    const registry = await eventually(
      async () => (await fetch(`${cloud.httpUrl}/models`).then((r) => r.json())) as { production: string | null; models: Array<{ version: string; runId: string; dataRange: unknown }> },
      (r) => r.production === completed.version,
      10_000,
      "the registry's production model",
    );
    expect(registry.models[0]).toMatchObject({ version: completed.version, runId, dataRange: published.dataRange });
  });

  it("emits one epoch event per epoch run, and publishes the weights of the epoch that validated best", async () => {
    const events = await runEnded(cloudNc, runId);
    const started = dataOf(events, "tide.training.started.v1");
    const epochs = events.filter((e) => e.type === "tide.training.epoch.completed.v1").map((e) => e.data as { epoch: number; samples: number; loss: number; valLoss: number });
    expect(started.epochs).toBe(EPOCHS);
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect(epochs.every((e) => e.samples === started.samples.train && Number.isFinite(e.loss))).toBe(true);
    expect(published.metrics.epochs).toBe(EPOCHS);
    const best = epochs.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(published.metrics).toMatchObject({ bestEpoch: best.epoch, valLoss: best.valLoss, loss: best.loss });
  });

  it("signs the publication with the cloud's ed25519 key over version, location and digest", () => {
    const { bucket, name, digest } = published.artifact;
    const artifact = { version: published.version, bucket, name, sha256: digest.sha256, size: digest.size };
    expect(modelVerifierFromDir(given.dir).verify(artifact, published.signature)).toMatchObject({ valid: true });
    expect(modelVerifierFromDir(given.dir).verify({ ...artifact, size: digest.size + 1 }, published.signature)).toMatchObject({ valid: false, reason: "BAD_SIGNATURE" });
  });

  it("stores an artifact whose digest verifies and whose model predicts as the trained one did", async () => {
    const { tf } = await selectBackend({ logger: silentLogger });
    const bytes = await cloudNc.jetstream().views.os(published.artifact.bucket).then((os) => os.getBlob(published.artifact.name));
    expect(bytes).not.toBeNull();
    expect(sha256(bytes!)).toBe(published.artifact.digest.sha256);
    expect(bytes!.byteLength).toBe(published.artifact.digest.size);
    const loaded = await loadModelArtifact(tf, bytes!);
    try {
      // Rebuild the run's dataset from its recorded range: same hash, and the loaded model's test error is the trained model's, to the last digit.
      const { readings } = await readTrainingReadings(cloudNc, { ...published.dataRange, maxReadings: 1_000_000 });
      const dataset = buildDataset(readings, { window: loaded.meta.window, split: { validation: 0.15, test: 0.15 } });
      expect(dataset.hash).toBe(published.datasetHash);
      const errors = evaluateForecastModel(tf, loaded.model, dataset.test, loaded.meta.normalisation);
      expect(errors.mae).toBeCloseTo(published.metrics.mae!, 12);
      expect(loaded.meta.normalisation).toEqual(dataset.stats);

      // The cloud joint-inference responder hot-swapped to the published model and answers like the artifact.
      await eventually(() => cloud.engine.activeVersion(), (v) => v === published.version, 20_000, "cloud engine on the published model");
      const window = readings.filter((r) => r.device === "sim-1").slice(-loaded.meta.window - 1);
      const request = { edge: EDGE, device: "sim-1", window: window.map(({ seq, temperature, humidity }) => ({ seq, temperature, humidity })) };
      const reply = OffloadReply.parse((await cloudNc.request(OFFLOAD_SUBJECT, JSON.stringify(request), { timeout: 5000 })).json());
      // The engine predicts the next temperature from the last W readings of the window.
      const expected = predictTemperatures(tf, loaded.model, [normaliser(loaded.meta.normalisation).input(window.slice(1))], loaded.meta.normalisation)[0]!;
      expect(reply).toMatchObject({ ok: true, modelVersion: published.version });
      expect(reply.ok && reply.temperature).toBeCloseTo(expected, 4);
    } finally {
      loaded.model.dispose();
    }
  });
});

describe("datasets from the streams", () => {
  it("the same range always gives the same dataset hash; a different range another", async () => {
    const js = cloudNc.jetstream();
    const range = { since: filledSince.toISOString(), until: filledUntil.toISOString() };
    const a = await requestTraining(js, { reason: "manual", ...range, epochs: 1 }, "tide://test");
    const b = await requestTraining(js, { reason: "manual", ...range, epochs: 1 }, "tide://test");
    const startedA = dataOf(await runEnded(cloudNc, a.runId), "tide.training.started.v1");
    const startedB = dataOf(await runEnded(cloudNc, b.runId), "tide.training.started.v1");
    expect(startedA.readings).toBe(4 * TICKS);
    expect({ from: startedB.fromSeq, to: startedB.toSeq, hash: startedB.datasetHash }).toEqual({ from: startedA.fromSeq, to: startedA.toSeq, hash: startedA.datasetHash });

    // More readings arrive: the same time range still gives the same dataset, an open range a new one.
    await givenSimulatedReadings(edgeNc, cloudNc, EDGE, 50, 4 * (TICKS + 50), TICKS);
    const same = await requestTraining(js, { reason: "manual", ...range, epochs: 1 }, "tide://test");
    const open = await requestTraining(js, { reason: "manual", since: range.since, epochs: 1 }, "tide://test");
    const startedSame = dataOf(await runEnded(cloudNc, same.runId), "tide.training.started.v1");
    const startedOpen = dataOf(await runEnded(cloudNc, open.runId), "tide.training.started.v1");
    expect(startedSame.datasetHash).toBe(startedA.datasetHash);
    expect(startedOpen.readings).toBe(4 * (TICKS + 50));
    expect(startedOpen.toSeq).toBeGreaterThan(startedA.toSeq);
    expect(startedOpen.datasetHash).not.toBe(startedA.datasetHash);
  });

  it("a run that cannot build a dataset ends with training.failed and its reason", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const { runId } = await requestTraining(cloudNc.jetstream(), { reason: "manual", since: future }, "tide://test");
    const events = await runEnded(cloudNc, runId);
    expect(events.map((e) => e.type)).toEqual(["tide.training.requested.v1", "tide.training.failed.v1"]);
    expect(dataOf(events, "tide.training.failed.v1")).toMatchObject({ stage: "dataset", reason: expect.stringMatching(/^not enough data: 0 reading\(s\)/) });
  });
});

describe("POST /train", () => {
  const requests = async () => {
    let n = 0;
    for await (const s of readStream(cloudNc, { stream: "TRAINING", domain: CLOUD_DOMAIN })) if (s.event.type === "tide.training.requested.v1") n++;
    return n;
  };

  it.each([
    ["epochs 0", { epochs: 0 }, /^epochs: /],
    ["a since that is not a time", { since: "yesterday" }, /^since: /],
    ["a force that is not a boolean", { force: "yes" }, /^force: /],
    ["an unknown field", { epoch: 3 }, /Unrecognized key.*epoch/],
    ["since after until", { since: "2025-01-02T00:00:00Z", until: "2025-01-01T00:00:00Z" }, /^since: since is after until/],
    ["an array", [1, 2], /^\(root\): /],
  ])("answers 400 with the zod issues for %s, and requests nothing", async (_what, body, issue) => {
    const before = await requests();
    const res = await post("/train", JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid request body");
    expect((res.body.issues as string[]).some((i) => issue.test(i))).toBe(true);
    expect(await requests()).toBe(before);
  });

  it("answers 400 to a body that is not JSON, and 415 to another content type", async () => {
    expect(await post("/train", "{ epochs: 3")).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^body is not JSON/) } });
    expect((await post("/train", "epochs=3", "application/x-www-form-urlencoded")).status).toBe(415);
  });
});

describe("tide train and tide status", () => {
  it("tide train requests a run, follows it to the end and prints the outcome", async () => {
    const run = await tide("train", "--dir", given.dir, "--epochs", "3", "--force");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^requested training run run-\S+$/m);
    expect(run.stderr).toMatch(/cloud READINGS seq \d+\.\.\d+ \(\d+ readings, 4 devices; .*, 3 epochs/);
    // Not a terminal: no progress bar redraws.
    expect(run.stderr).not.toContain("\r");
    const [, runId, version] = /^run (run-\S+) completed: (v\d+) published \((better|forced): /m.exec(run.stdout) ?? [];
    expect(runId).toBeDefined();
    const events = await runEnded(cloudNc, runId!);
    expect(dataOf(events, "tide.training.requested.v1")).toMatchObject({ reason: "manual", force: true, epochs: 3 });
    expect(events.filter((e) => e.type === "tide.training.epoch.completed.v1")).toHaveLength(3);

    const status = await tide("status", "--dir", given.dir, "--json");
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { models: { production: string; models: Array<{ version: string; runId: string }> }; training: { runs: Array<{ runId: string; status: string }> } };
    expect(parsed.models.production).toBe(version);
    expect(parsed.models.models.find((m) => m.version === version)?.runId).toBe(runId);
    expect(parsed.training.runs.find((r) => r.runId === runId)?.status).toBe("completed");
    const text = await tide("status", "--dir", given.dir);
    expect(text.stdout).toContain(`production: ${version} (run ${runId}`);
  });

  it("tide train exits 2 with a message for bad flags", async () => {
    // Flag parsing itself (times, unknown flags) is covered by src/cli/args.unit.spec.ts.
    const cases: Array<[string[], RegExp]> = [
      [["--epochs", "0"], /--epochs must be between 1 and 10000/],
      [["--since", "1h", "--until", "2h"], /--since is after --until/],
    ];
    const runs = await Promise.all(cases.map(([args]) => tide("train", "--dir", given.dir, ...args)));
    runs.forEach((run, i) => {
      expect(run.code, cases[i]![0].join(" ")).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
    });
  });
});
