import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { createInferenceEngine } from "../edge-runtime/inference/engine.ts";
import { loadModelFromBytes } from "../edge-runtime/inference/model-source.ts";
import { createEvent } from "../src/events/envelope.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { loadModelArtifact, serializeModel, sha256 } from "../src/model/artifact.ts";
import { selectBackend, type Tf } from "../src/model/backend.ts";
import { loadOrCreateModelSigner } from "../src/model/signing.ts";
import { createRolloutController } from "../src/rollout/controller.ts";
import { requestRollout } from "../src/rollout/request.ts";
import { DEFAULT_CRITERIA } from "../src/rollout/types.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { connectTo, startTopology } from "../src/topology/index.ts";
import { storeArtifact } from "../src/training/publish.ts";
import { applyStreams } from "../streams/apply.ts";
import type { BenchContext } from "./context.ts";
import { trainBenchModel } from "./edge-model.ts";
import { round } from "./measure.ts";
import type { BenchFigure, BenchOutcome } from "./types.ts";

const FLEETS = { full: [2, 5, 10], quick: [2] } as const;

/** The bench model's artifact under another version (the version is part of the artifact). */
async function artifactAs(tf: Tf, base: Uint8Array, version: string): Promise<Uint8Array> {
  const loaded = await loadModelArtifact(tf, base);
  try {
    return await serializeModel(loaded.model, { version, normalisation: loaded.meta.normalisation, window: loaded.meta.window, residualStd: loaded.meta.residualStd });
  } finally {
    loaded.model.dispose();
  }
}

async function publish(nc: NatsConnection, dir: string, version: string, bytes: Uint8Array): Promise<void> {
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const stored = await storeArtifact(js, version, bytes);
  const artifact = { bucket: stored.bucket, name: stored.name, sha256: stored.sha256, size: stored.size };
  const data = {
    version,
    runId: `bench-${version}`,
    dataRange: { fromSeq: 1, toSeq: 2 },
    datasetHash: sha256(bytes),
    metrics: {},
    artifact: { bucket: stored.bucket, name: stored.name, quantization: "none" as const, digest: { sha256: stored.sha256, size: stored.size } },
    signature: loadOrCreateModelSigner(dir).sign({ version, ...artifact }),
  };
  await appendToStream(js, subjects.model(version), createEvent({ type: "tide.model.published.v1", data }, { source: "tide://cloud/bench" }));
}

/**
 * Time from `rollout.planned` to the last edge's `model.activated` (both as
 * stored), for rollouts of strategy `all` to 2, 5 and 10 edges of one fleet
 * (every edge a real leaf node with its own runtime in this process).
 */
async function timeToActive(ctx: BenchContext, tf: Tf, base: Uint8Array): Promise<{ figures: BenchFigure[]; details: string[] }> {
  const sizes = ctx.sizes.quick ? FLEETS.quick : FLEETS.full;
  const max = Math.max(...sizes);
  const dir = mkdtempSync(join(tmpdir(), "tide-bench-rollout-"));
  const edges = Array.from({ length: max }, (_, i) => String(i + 1));
  const topology = await startTopology({ dir, ports: "free", edges });
  const runtimes: EdgeRuntime[] = [];
  const nc = await connectTo(topology.file, CLOUD_DOMAIN, { name: "tide-bench-rollout" });
  const controller = createRolloutController({ nc, config: { edges, criteria: { ...DEFAULT_CRITERIA, observeMs: 1000, minInferences: 1 } }, tickMs: 100 });
  const figures: BenchFigure[] = [];
  const details: string[] = [];
  try {
    for (const edge of edges) runtimes.push(await startEdgeRuntime({ topology: topology.file, edge, httpPort: 0, heartbeatMs: 5000, rolloutPollMs: 100, offloadAboveScore: Infinity }));
    await applyStreams({ nc, place: "cloud", domain: CLOUD_DOMAIN, context: { edges } });
    await controller.start();
    for (const n of sizes) {
      const version = `bench-${n}`;
      await publish(nc, dir, version, await artifactAs(tf, base, version));
      ctx.progress(`rollout: ${version} to ${n} edges`);
      const { rolloutId } = await requestRollout(nc, { version, strategy: "all", edges: edges.slice(0, n) }, "bench");
      ctx.progress(`rollout: ${rolloutId} requested`);
      const deadline = Date.now() + 120_000;
      let said = Date.now();
      for (;;) {
        // The controller's own state: folded live from ROLLOUTS and MODELS (edges' reports included).
        const r = controller.state().rollouts.get(rolloutId);
        const activated = r ? [...r.edges.values()].filter((p) => p.activated).length : 0;
        if (activated === n) break;
        if (r?.status === "rolled_back" || r?.status === "rejected") throw new Error(`rollout ${rolloutId} ended ${r.status}: ${r.outcome?.reason}`);
        if (Date.now() > deadline) throw new Error(`rollout ${rolloutId}: ${activated} of ${n} edges active after 120 s (${r?.status ?? "not seen"})`);
        if (Date.now() - said > 10_000) {
          said = Date.now();
          ctx.progress(`rollout: ${activated} of ${n} edges active (${r?.status ?? "not seen"})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const r = controller.state().rollouts.get(rolloutId)!;
      const planned = Date.parse(r.plannedAt!);
      // As the edges stamped their reports (same machine, same clock).
      const activations = [...r.edges.values()].map((p) => Date.parse(p.activated!.at) - planned);
      activations.sort((a, b) => a - b);
      const seconds = activations[activations.length - 1]! / 1000;
      figures.push({ name: `rollout.all_active.seconds@${n}`, value: round(seconds, 3), unit: "s" });
      details.push(`${n} edges: planned → every edge active in ${seconds.toFixed(3)} s; first edge ${(activations[0]! / 1000).toFixed(3)} s, median ${(activations[Math.floor(activations.length / 2)]! / 1000).toFixed(3)} s.`);
    }
  } finally {
    ctx.progress("rollout: stopping the fleet");
    await controller.stop();
    for (const [i, runtime] of runtimes.entries()) {
      const timer = setTimeout(() => ctx.progress(`rollout: edge ${i + 1} still stopping after 10 s`), 10_000);
      await runtime.stop();
      clearTimeout(timer);
    }
    ctx.progress("rollout: edges stopped");
    await nc.close().catch(() => undefined);
    await topology.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, details };
}

/**
 * Inference throughput through one edge engine around a hot-swap: 64 callers
 * in a closed loop (as the pipeline and /predict use it); at the middle of the
 * run the rollout agent's swap path (load the verified artifact, warm it up,
 * activate) runs on the same thread. Throughput per 250 ms bucket; the dip is
 * the worst bucket from the swap on ÷ the mean of the buckets before it.
 */
async function swapDip(ctx: BenchContext, tf: Tf, base: Uint8Array): Promise<{ figures: BenchFigure[]; details: string[] }> {
  const engine = createInferenceEngine({ tf, logger: silentLogger });
  const first = await loadModelFromBytes(tf, "bench", await artifactAs(tf, base, "swap-a"));
  engine.activate(first);
  const next = await artifactAs(tf, base, "swap-b");
  const window = Array.from({ length: first.meta.window + 1 }, (_, i) => ({ seq: i + 1, device: "d", temperature: 21 + Math.sin(i / 3), humidity: 50 }));
  const seconds = ctx.sizes.quick ? 2 : 6;
  const bucketMs = 250;
  const counts: number[] = [];
  const t0 = performance.now();
  let swapAt = 0;
  let swapMs = 0;
  let stop = false;
  const callers = Array.from({ length: 64 }, async () => {
    while (!stop) {
      await engine.predict({ device: "d", window });
      // Callers are I/O-driven (a message, a request): each turn goes through the event loop, as theirs would.
      await new Promise((resolve) => setImmediate(resolve));
      const bucket = Math.floor((performance.now() - t0) / bucketMs);
      counts[bucket] = (counts[bucket] ?? 0) + 1;
    }
  });
  await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 2));
  swapAt = performance.now() - t0;
  const s0 = performance.now();
  engine.activate(await loadModelFromBytes(tf, "bench", next, { version: "swap-b" }));
  swapMs = performance.now() - s0;
  await new Promise((resolve) => setTimeout(resolve, (seconds * 1000) / 2));
  stop = true;
  await Promise.all(callers);
  await engine.close();
  const swapBucket = Math.floor(swapAt / bucketMs);
  const filled = Array.from({ length: counts.length }, (_, i) => counts[i] ?? 0);
  // The first bucket includes the callers' start: leave it out of the steady state.
  const before = filled.slice(1, swapBucket);
  const steady = before.reduce((a, b) => a + b, 0) / Math.max(1, before.length);
  const after = filled.slice(swapBucket, swapBucket + 4);
  const worst = Math.min(...after);
  const ratio = steady > 0 ? worst / steady : 0;
  ctx.progress(`rollout: swap dip ${ratio.toFixed(2)} (swap took ${swapMs.toFixed(1)} ms)`);
  return {
    figures: [{ name: "rollout.swap_dip.ratio", value: round(worst * (1000 / bucketMs), 1), unit: "inferences/s", ceiling: round(steady * (1000 / bucketMs), 1), ratio: round(ratio, 3) }],
    details: [
      `Swap (load + verify + warm up + activate, on the engine's thread) took ${swapMs.toFixed(1)} ms; steady ${Math.round(steady * (1000 / bucketMs))} inferences/s, ` +
        `worst 250 ms bucket from the swap on ${Math.round(worst * (1000 / bucketMs))} inferences/s; buckets around it: ${filled.slice(Math.max(1, swapBucket - 2), swapBucket + 4).map((c) => Math.round(c * (1000 / bucketMs))).join(", ")} /s.`,
    ],
  };
}

export async function rolloutBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const { tf, backend } = await selectBackend({ logger: silentLogger });
  const scratch = mkdtempSync(join(tmpdir(), "tide-bench-model-"));
  let base: Uint8Array;
  try {
    base = readFileSync((await trainBenchModel(scratch)).file);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const active = await timeToActive(ctx, tf, base);
  ctx.rss.mark("rollout");
  const dip = await swapDip(ctx, tf, base);
  return {
    title: "Model rollout (`rollout.*`)",
    how:
      "Time to active: one fleet of real leaf nodes (hub + 10 edges, each edge runtime in this process), a rollout controller, and for 2, 5 and 10 edges a new version " +
      "published (artifact in the cloud Object Store, signed `model.published`) and a rollout of strategy `all` to that many edges; the figure is from " +
      "`rollout.planned` (as stored) to the last edge's `model.activated` (as written by the edge: fetched across the leaf link, size, SHA-256 and signature " +
      "verified, kept locally, loaded, warmed up, hot-swapped). An edge reads ROLLOUTS and the models bucket through message gets (its hub account has no " +
      "consumers), asking for the next event every 50 ms, backing off to 250 ms while none comes: up to a quarter of a second of each figure is that wait. Swap dip: see the details; ratio = worst 250 ms bucket from the swap on ÷ steady state before it.",
    figures: [...active.figures, ...dip.figures.map((f) => ({ ...f, backend }))],
    details: [...active.details, ...dip.details],
  };
}
