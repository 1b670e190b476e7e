import type { NatsConnection } from "nats";
import { performance } from "node:perf_hooks";
import { createEvent, subjects, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { decide } from "../src/scheduler/decider.ts";
import { createScheduler } from "../src/scheduler/scheduler.ts";
import { DEFAULT_SCHEDULER_CONFIG } from "../src/scheduler/types.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { pump, rateOf, round, type Rate } from "./measure.ts";
import type { BenchFigure } from "./types.ts";

/** A kind only these nodes run; nobody executes it: the benchmark measures placing, not running. */
const KIND = "bench.place";
/** Unlimited queues: every task is placed in the measured rounds (nobody executes them). */
const CONFIG = { ...DEFAULT_SCHEDULER_CONFIG, maxQueuedPerCpu: 1e9 };

/** Register `n` cloud nodes that run KIND, the way heartbeats do (registration, then one beat). */
async function registerNodes(nc: NatsConnection, n: number): Promise<void> {
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  await pump(n, 64, async (i) => {
    const node = `bench-node-${i}`;
    const source = `tide://${node}/heartbeat`;
    // Nodes differ, so the scores differ: CPUs 2..16, memory 4..32 GB.
    const resources = { cpus: 2 + (i % 8) * 2, memoryMb: 4096 * (1 + (i % 8)) };
    await appendToStream(js, subjects.node(node), createEvent({ type: "tide.node.registered.v1", data: { node, kind: "cloud", resources, kinds: [KIND], heartbeatMs: 3_600_000 } }, { source }));
    await appendToStream(js, subjects.node(node), createEvent({ type: "tide.node.heartbeat.v1", data: { node, cpuLoad: 0.1, memoryMb: 100, freeMemoryMb: 1000, queueDepth: 0 } }, { source }));
  });
}

/** One decisions-per-second figure and how it came about. */
export interface DecisionsResult {
  figure: BenchFigure;
  detail: string;
}

/**
 * scheduler.decisions_per_s@N: `tasks` tasks submitted while no scheduler
 * runs, N nodes registered; then one scheduler replica catches up and its
 * rounds place them all. The clock covers the rounds: deciding (scoring every
 * node with the latency model) and appending each `task.assigned` with its
 * expected subject sequence and every candidate's score. Ceiling: the same
 * events appended raw (no deciding, no expected sequence), as many in flight.
 */
export async function measureDecisions(ctx: BenchContext, nodes: number, tasks: number): Promise<DecisionsResult> {
  return withTopology(ctx, { cloud: true }, async ({ connect }) => {
    const nc = await connect(CLOUD_DOMAIN);
    await registerNodes(nc, nodes);
    await pump(tasks, 64, (i) => submitTask({ kind: KIND, priority: i % 10, cpu: 1 + (i % 3), memoryMb: 256 * (1 + (i % 4)) }, { nc }));
    const scheduler = createScheduler({ nc: await connect(CLOUD_DOMAIN), id: "bench", autoRun: false, config: CONFIG });
    await scheduler.start();
    try {
      // Pure deciding on the caught-up state, for the details.
      const t0 = performance.now();
      const decisions = decide({ type: "place", now: Date.now() }, scheduler.state(), CONFIG);
      const pureSeconds = (performance.now() - t0) / 1000;
      const bytes = decisions.reduce((sum, d) => sum + JSON.stringify(d.event.data).length, 0) / Math.max(1, decisions.length);

      const cpu = process.cpuUsage();
      const started = performance.now();
      let rounds = 0;
      while (scheduler.stats.assigned < tasks && rounds < 50) {
        await scheduler.round();
        rounds++;
      }
      const used = process.cpuUsage(cpu);
      const ours: Rate = rateOf(scheduler.stats.assigned, (performance.now() - started) / 1000, used.user + used.system);
      if (scheduler.stats.assigned < tasks) throw new Error(`only ${scheduler.stats.assigned} of ${tasks} tasks placed`);

      const js = nc.jetstream({ domain: CLOUD_DOMAIN });
      const raw = decisions.map((d) => createEvent(d.event, { source: "tide://bench/raw" }) as TideEvent);
      const c0 = performance.now();
      await pump(raw.length, 64, (i) => appendToStream(js, subjects.task(`raw-${i}`), raw[i]!));
      const ceiling = rateOf(raw.length, (performance.now() - c0) / 1000);

      const name = `scheduler.decisions_per_s@${nodes}`;
      ctx.progress(`${name}: ${Math.round(ours.perSecond)}/s (raw appends of the same events ${Math.round(ceiling.perSecond)}/s; deciding alone ${Math.round(tasks / pureSeconds)}/s)`);
      return {
        figure: { name, value: Math.round(ours.perSecond), unit: "decisions/s", ceiling: Math.round(ceiling.perSecond), ratio: round(ours.perSecond / ceiling.perSecond) },
        detail:
          `${nodes} nodes, ${tasks} tasks: ${Math.round(ours.perSecond)} decisions/s in ${rounds} round(s), ${ours.cpuMicrosPerItem?.toFixed(0)} µs CPU per decision; ` +
          `deciding alone (pure, no I/O) ${Math.round(tasks / pureSeconds).toLocaleString("en-US")}/s; an assignment event carries ${nodes} candidates, ${(bytes / 1024).toFixed(1)} KiB; ` +
          `raw appends of the same events ${Math.round(ceiling.perSecond)}/s.`,
      };
    } finally {
      await scheduler.stop();
    }
  });
}
