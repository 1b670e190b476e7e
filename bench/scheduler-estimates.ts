import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { startHeartbeats } from "../src/nodes/heartbeat.ts";
import { startNodeMonitor } from "../src/nodes/node-monitor.ts";
import { createScheduler } from "../src/scheduler/scheduler.ts";
import { waitForTask } from "../src/tasks/history.ts";
import { BUILT_IN_KINDS } from "../src/tasks/kinds/index.ts";
import { createTaskKindRegistry } from "../src/tasks/kinds/registry.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { startCloudWorker } from "../src/tasks/worker/cloud-worker.ts";
import { startTaskWorker } from "../src/tasks/worker/executor.ts";
import { createRandom } from "../edge-runtime/simulator/prng.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { round } from "./measure.ts";
import { fillReadings } from "./readings.ts";
import type { BenchFigure } from "./types.ts";

const SIZE = { full: { readings: 50_000, warmup: 10, measured: 30 }, quick: { readings: 10_000, warmup: 5, measured: 10 } } as const;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quantile = (xs: readonly number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** The edge's task node as the edge runtime runs it (worker + heartbeats), without the rest of the runtime. */
async function startEdgeNode(nc: NatsConnection, edge: string) {
  const node = edgeDomain(edge);
  const registry = createTaskKindRegistry(BUILT_IN_KINDS.filter((k) => k.kind !== "retrain"));
  const worker = startTaskWorker({ nc, node, registry, cpus: 1 });
  await worker.start();
  const beats = startHeartbeats({ nc, node, kind: "edge", edge, kinds: worker.kinds(), resources: { cpus: 1, memoryMb: 512 }, intervalMs: 1000, status: () => ({ queueDepth: worker.queueDepth() }) });
  return { stop: async () => (beats.stop(), await worker.stop()) };
}

/** The estimate-error figure and its spread. */
export interface EstimateResult {
  figure: BenchFigure;
  detail: string;
}

/**
 * scheduler.estimate_error.ratio: tasks (aggregate and batch inference over
 * random ranges of readings, half on edge 1, half on the cloud's copy) run one
 * after another on a fleet of the edge and a cloud worker, placed by the scheduler. After a warm-up, each
 * task's error is |estimated T_delay - measured T_delay| / measured; the figure
 * is their mean (lower is better).
 */
export async function measureEstimateError(ctx: BenchContext): Promise<EstimateResult> {
  const size = ctx.sizes.quick ? SIZE.quick : SIZE.full;
  return withTopology(ctx, { cloud: true }, async ({ connect, edge, topology }) => {
    const edgeNc = await connect(edge);
    await fillReadings(edgeNc.jetstream({ domain: edgeDomain(edge) }), edge, size.readings);
    const nc = await connect(CLOUD_DOMAIN);
    // The readings are routed up: the cloud READINGS sources them, so the same ranges also exist in the cloud.
    const jsm = await nc.jetstreamManager({ domain: CLOUD_DOMAIN });
    for (let waited = 0; (await jsm.streams.info("READINGS")).state.messages < size.readings; waited += 100) {
      if (waited > 120_000) throw new Error("the cloud READINGS did not receive the edge's readings");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const monitor = startNodeMonitor({ nc: await connect(CLOUD_DOMAIN) });
    const scheduler = createScheduler({ nc: await connect(CLOUD_DOMAIN), id: "bench" });
    await monitor.start();
    await scheduler.start();
    const edgeNode = await startEdgeNode(edgeNc, edge);
    const cloud = await startCloudWorker({ topology: topology.file, name: "bench", cpus: 2, memoryMb: 4096, heartbeatMs: 1000 });
    const prng = createRandom(7, "scheduler-bench");
    const random = () => prng.next();
    const samples: { total: number; compute: number; node: string; kind: string }[] = [];
    try {
      ctx.progress(`estimate error: ${size.warmup} warm-up + ${size.measured} measured tasks over ${size.readings.toLocaleString("en-US")} readings`);
      for (let i = 0; i < size.warmup + size.measured; i++) {
        const count = Math.round(500 + random() * (size.readings / 2));
        const fromSeq = 1 + Math.floor(random() * (size.readings - count));
        const kind = i % 2 ? "aggregate" : "batch_inference";
        const data = { ...(i % 4 < 2 ? { edge } : {}), fromSeq, toSeq: fromSeq + count - 1 };
        const { taskId } = await submitTask({ kind, data }, { nc });
        const h = await waitForTask(nc, taskId);
        if (h.status !== "completed" || !h.estimate || !h.actual) throw new Error(`task ${taskId} ended ${h.status}`);
        if (i < size.warmup) continue;
        const actual = h.actual.transmitMs + h.actual.computeMs + h.actual.queueMs;
        samples.push({ total: Math.abs(h.estimate.totalMs - actual) / actual, compute: Math.abs(h.estimate.computeMs - h.actual.computeMs) / h.actual.computeMs, node: h.node!, kind });
      }
    } finally {
      await cloud.stop();
      await edgeNode.stop();
      await scheduler.stop();
      await monitor.stop();
    }
    const errors = samples.map((s) => s.total);
    const where = [...new Set(samples.map((s) => s.node))].map((n) => `${n} ${samples.filter((s) => s.node === n).length}`).join(", ");
    ctx.progress(`scheduler.estimate_error.ratio: mean ${mean(errors).toFixed(3)}, median ${quantile(errors, 0.5).toFixed(3)}, p90 ${quantile(errors, 0.9).toFixed(3)}`);
    return {
      // No target: bench/report.ts reads a target as a floor for this unit, and an error is better lower.
      figure: { name: "scheduler.estimate_error.ratio", value: round(mean(errors), 3), unit: "ratio" },
      detail:
        `${samples.length} tasks after ${size.warmup} warm-up (ran on: ${where}): |estimated - actual| / actual T_delay mean ${mean(errors).toFixed(3)}, median ${quantile(errors, 0.5).toFixed(3)}, ` +
        `p90 ${quantile(errors, 0.9).toFixed(3)}; T_compute alone mean ${mean(samples.map((s) => s.compute)).toFixed(3)}.`,
    };
  });
}
