import { createPrivateKey } from "node:crypto";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import type { EventData } from "../src/events/catalogue.ts";
import { createEvent } from "../src/events/envelope.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { serializeModel, sha256 } from "../src/model/artifact.ts";
import { selectBackend } from "../src/model/backend.ts";
import { createForecastModel, disposeForecastModel } from "../src/model/forecast-model.ts";
import { createModelSigner, generateSigningKeyPair, loadOrCreateModelSigner, type ModelSigner } from "../src/model/signing.ts";
import { createRolloutController, type RolloutController } from "../src/rollout/controller.ts";
import { requestRollout } from "../src/rollout/request.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { readStream } from "../src/store/read-stream.ts";
import { storeArtifact } from "../src/training/publish.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";

const EDGE = "1";
const CRITERIA = { minInferences: 1, observeMs: 1000, maxErrorRatio: 100, maxLatencyRatio: 100, maxLatencyMs: 5000, stageTimeoutMs: 60_000 };

let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: NatsConnection;
let edge: EdgeRuntime;
let controller: RolloutController;
let cloudSigner: ModelSigner;
let artifactBytes: (version: string) => Promise<Uint8Array>;

/**
 * Publish `version` as the trainer does (artifact in the Object Store, then
 * `model.published`), with the signature `sign` gives (none when it gives undefined).
 */
async function publish(version: string, sign: (artifact: { version: string; bucket: string; name: string; sha256: string; size: number }) => string | undefined): Promise<void> {
  const js = cloud.jetstream({ domain: CLOUD_DOMAIN });
  const stored = await storeArtifact(js, version, await artifactBytes(version));
  const signature = sign({ version, bucket: stored.bucket, name: stored.name, sha256: stored.sha256, size: stored.size });
  const data: EventData<"tide.model.published.v1"> = {
    version,
    runId: `test-${version}`,
    dataRange: { fromSeq: 1, toSeq: 2 },
    datasetHash: sha256(new TextEncoder().encode(version)),
    metrics: { mae: 0.1 },
    artifact: { bucket: stored.bucket, name: stored.name, quantization: "none", digest: { sha256: stored.sha256, size: stored.size } },
    ...(signature === undefined ? {} : { signature }),
  };
  await appendToStream(js, subjects.model(version), createEvent({ type: "tide.model.published.v1", data }, { source: "tide://cloud/test" }));
}

/** The edge's report about `version` (activated or activation_failed), once there is one. */
async function reportOn(version: string) {
  return eventually(
    async () => {
      for await (const { event } of readStream(cloud, { stream: "REPORTS", domain: edgeDomain(EDGE), subject: subjects.report(EDGE) })) {
        const data = event.data as { version?: string; reason?: string };
        if ((event.type === "tide.model.activated.v1" || event.type === "tide.model.activation_failed.v1") && data.version === version) return { type: event.type, reason: data.reason };
      }
      return undefined;
    },
    (r) => r !== undefined,
    60_000,
    `the edge's report on ${version}`,
  ).then((r) => r!);
}

async function rollOut(version: string) {
  await requestRollout(cloud, { version, strategy: "all" }, "test");
  return reportOn(version);
}

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  cloud = await given.connect(CLOUD_DOMAIN);
  // The cloud's key pair in <dir>/keys: the edge trusts its public half.
  cloudSigner = loadOrCreateModelSigner(given.dir);
  const { tf } = await selectBackend({ logger: silentLogger });
  const model = createForecastModel(tf, { window: 8, hidden: [4], seed: 3 });
  const normalisation = { temperature: { mean: 21, std: 2 }, humidity: { mean: 45, std: 5 } };
  artifactBytes = (version) => serializeModel(model, { version, window: 8, residualStd: 0.5, normalisation });
  process.once("exit", () => disposeForecastModel(model));
  edge = await startEdgeRuntime({ topology: given.topology.file, edge: EDGE, httpPort: 0, rolloutPollMs: 100, offloadAboveScore: Infinity });
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: [EDGE] } });
  controller = createRolloutController({ nc: cloud, config: { edges: [EDGE], criteria: CRITERIA }, tickMs: 200 });
  await controller.start();
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  await edge?.stop();
  await given?.cleanup();
});

describe("signed models on the edge", () => {
  it("refuses an unsigned artifact with model.activation_failed; the current model keeps serving", async () => {
    const before = edge.engine.activeVersion();
    await publish("s-unsigned", () => undefined);
    const report = await rollOut("s-unsigned");
    expect(report.type).toBe("tide.model.activation_failed.v1");
    expect(report.reason).toMatch(/UNSIGNED.*not signed/);
    expect(edge.engine.activeVersion()).toBe(before);
  }, 90_000);

  it("refuses an artifact signed by a key the edge does not trust", async () => {
    const before = edge.engine.activeVersion();
    const stranger = createModelSigner(createPrivateKey(generateSigningKeyPair().privateKeyPem));
    await publish("s-stranger", (a) => stranger.sign(a));
    const report = await rollOut("s-stranger");
    expect(report.type).toBe("tide.model.activation_failed.v1");
    expect(report.reason).toMatch(/UNKNOWN_KEY/);
    expect(edge.engine.activeVersion()).toBe(before);
  }, 90_000);

  it("refuses a trusted signature made for another artifact (a signed digest replayed under a new version)", async () => {
    const before = edge.engine.activeVersion();
    // A genuine cloud signature, but over another version's statement.
    await publish("s-replayed", (a) => cloudSigner.sign({ ...a, version: "s-other" }));
    const report = await rollOut("s-replayed");
    expect(report.type).toBe("tide.model.activation_failed.v1");
    expect(report.reason).toMatch(/BAD_SIGNATURE/);
    expect(edge.engine.activeVersion()).toBe(before);
  }, 90_000);

  it("activates an artifact the cloud signed", async () => {
    await publish("s-signed", (a) => cloudSigner.sign(a));
    const report = await rollOut("s-signed");
    expect(report).toMatchObject({ type: "tide.model.activated.v1" });
    expect(edge.engine.activeVersion()).toBe("s-signed");
  }, 90_000);
});
