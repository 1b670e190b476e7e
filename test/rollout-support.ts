import type { Tensor } from "@tensorflow/tfjs";
import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { createEvent } from "../src/events/envelope.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { serializeModel, sha256 } from "../src/model/artifact.ts";
import { selectBackend } from "../src/model/backend.ts";
import { buildWindows, computeStats, type ReadingPoint } from "../src/model/features.ts";
import { createForecastModel, disposeForecastModel, evaluateForecastModel, trainForecastModel } from "../src/model/forecast-model.ts";
import { loadOrCreateModelSigner } from "../src/model/signing.ts";
import { createRolloutController, type RolloutController } from "../src/rollout/controller.ts";
import { readRolloutState } from "../src/rollout/request.ts";
import type { Rollout, RolloutCriteria } from "../src/rollout/types.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { MODELS_BUCKET, storeArtifact } from "../src/training/publish.ts";
import type { TopologyFile } from "../src/topology/index.ts";
import { sendReading } from "./edge-support.ts";
import { eventually } from "./harness.ts";

/** Criteria a loaded test machine can judge quickly: a few predictions, generous latency, a clear error margin. */
export const TEST_CRITERIA: RolloutCriteria = { minInferences: 8, observeMs: 4000, maxErrorRatio: 5, maxLatencyRatio: 50, maxLatencyMs: 2000, stageTimeoutMs: 60_000 };

/** The feeder's devices' curve: smooth, with a little fast wobble; the test model is trained on the same shape. */
export function feederPoint(i: number, d: number): { temperature: number; humidity: number } {
  return { temperature: 21 + d + 3 * Math.sin(i / 12) + 0.05 * Math.sin(i * 7.3), humidity: 50 - 5 * Math.sin(i / 12) };
}

let trained: Promise<{ bytes: (version: string, offsetC: number) => Promise<Uint8Array>; nonFinite: (version: string) => Promise<Uint8Array> }> | undefined;

/**
 * One tiny model trained once per test file; artifacts of it under any version.
 * With `offsetC` it is deliberately bad: its output layer ignores the window
 * and predicts the training mean + `offsetC` for every reading, so it is off
 * by about `offsetC` whatever training made of the rest. (Shifting the
 * normalisation mean instead shifted the inputs as well, and how far that
 * moved a prediction depended on the trained weights: some runs made a model
 * that was not bad at all.)
 */
function tinyModel() {
  trained ??= (async () => {
    const { tf } = await selectBackend({ logger: silentLogger });
    const readings: ReadingPoint[] = [];
    for (let i = 0; i < 300; i++) for (const d of [0, 1]) readings.push({ seq: readings.length + 1, device: `t${d + 1}`, ...feederPoint(i, d) });
    const stats = computeStats(readings);
    const window = 8;
    const samples = buildWindows(readings, window, stats);
    const model = createForecastModel(tf, { window, hidden: [16], seed: 1 });
    await trainForecastModel(tf, model, { inputs: samples.inputs, targets: samples.targets, epochs: 60, batchSize: 32 });
    const { residualStd } = evaluateForecastModel(tf, model, samples, stats);
    process.once("exit", () => disposeForecastModel(model));
    /** An artifact of a fresh model of the same shape carrying `weights` (disposed here). */
    const withWeights = async (version: string, weights: Tensor[]) => {
      const copy = createForecastModel(tf, { window, hidden: [16], seed: 2 });
      copy.setWeights(weights);
      tf.dispose(weights);
      try {
        return await serializeModel(copy, { version, window, residualStd, normalisation: stats });
      } finally {
        disposeForecastModel(copy);
      }
    };
    return {
      bytes: async (version: string, offsetC: number) => {
        if (offsetC === 0) return serializeModel(model, { version, window, residualStd, normalisation: stats });
        // The output layer's kernel and bias are the last two weights: zero the kernel, and the bias is the prediction.
        const weights = model.getWeights();
        return withWeights(version, weights.map((w, i) => (i === weights.length - 2 ? tf.zerosLike(w) : i === weights.length - 1 ? tf.fill(w.shape, offsetC / stats.temperature.std) : w.clone())));
      },
      // A well-formed artifact whose weights are all NaN: it loads, and its warm-up prediction is not finite.
      nonFinite: (version: string) => withWeights(version, model.getWeights().map((w) => tf.fill(w.shape, Number.NaN))),
    };
  })();
  return trained;
}

/**
 * Publishes a model as the trainer does: artifact into the cloud Object Store,
 * then a signed `model.published`. `offsetC` makes it deliberately wrong;
 * `tamper` replaces the stored bytes afterwards (a corrupted artifact);
 * `nonFinite` publishes an intact artifact whose warm-up fails (NaN weights).
 */
export async function publishTestModel(nc: NatsConnection, dir: string, version: string, options: { offsetC?: number; tamper?: boolean; nonFinite?: boolean } = {}): Promise<{ sha256: string; size: number }> {
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const model = await tinyModel();
  const bytes = options.nonFinite ? await model.nonFinite(version) : await model.bytes(version, options.offsetC ?? 0);
  const stored = await storeArtifact(js, version, bytes);
  const signer = loadOrCreateModelSigner(dir);
  const event = createEvent(
    {
      type: "tide.model.published.v1",
      data: {
        version,
        runId: `test-${version}`,
        dataRange: { fromSeq: 1, toSeq: 320 },
        datasetHash: sha256(new TextEncoder().encode(version)),
        metrics: { mae: 0.2 },
        artifact: { bucket: stored.bucket, name: stored.name, quantization: "none", digest: { sha256: stored.sha256, size: stored.size } },
        signature: signer.sign({ version, bucket: stored.bucket, name: stored.name, sha256: stored.sha256, size: stored.size }),
      },
    },
    { source: "tide://cloud/test" },
  );
  await appendToStream(js, subjects.model(version), event);
  if (options.tamper) {
    const tampered = new Uint8Array(bytes);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    const store = await js.views.os(MODELS_BUCKET);
    await store.putBlob({ name: version }, tampered);
  }
  return { sha256: stored.sha256, size: stored.size };
}

/** Edge runtimes for a topology, quick to report (heartbeats, rollout polling). */
export async function startEdges(topology: TopologyFile, ids: readonly string[]): Promise<Map<string, EdgeRuntime>> {
  const edges = new Map<string, EdgeRuntime>();
  for (const edge of ids) edges.set(edge, await startEdgeRuntime({ topology, edge, httpPort: 0, heartbeatMs: 1000, rolloutPollMs: 100, offloadAboveScore: Infinity }));
  return edges;
}

/** Devices on every edge sending a smooth daily-like curve, each reading waited for (stored) before the next. */
export function startFeeding(connections: Map<string, NatsConnection>, devices = ["t1", "t2"], periodMs = 40) {
  let stopped = false;
  const loops = [...connections].map(async ([edge, nc]) => {
    for (let i = 0; !stopped; i++) {
      for (const [d, device] of devices.entries()) {
        const { temperature, humidity } = feederPoint(i, d);
        // While an edge's server is down its device waits and retries, as a real one would.
        await sendReading(nc, edge, device, temperature, humidity).catch(() => undefined);
      }
      await sleep(periodMs);
    }
  });
  return {
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** A controller replica with the test criteria; `autoRun: false` decides only when its `round()` is called. */
export function startController(nc: NatsConnection, edges: readonly string[], id?: string, options: { autoRun?: boolean } = {}): Promise<RolloutController> {
  const controller = createRolloutController({ nc, config: { edges, criteria: TEST_CRITERIA }, tickMs: 200, ...(id ? { id } : {}), ...options });
  return controller.start().then(() => controller);
}

/** The rollout as the streams say, once `done` holds. */
export async function rolloutWhen(nc: NatsConnection, rolloutId: string, done: (r: Rollout | undefined) => boolean, timeoutMs = 90_000): Promise<Rollout> {
  const state = await eventually(async () => (await readRolloutState(nc)).rollouts.get(rolloutId), done, timeoutMs, `rollout ${rolloutId}`);
  return state!;
}

export const terminal = (r: Rollout | undefined) => r?.status === "completed" || r?.status === "rolled_back" || r?.status === "rejected";
