import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { startNodeMonitor } from "../src/nodes/node-monitor.ts";
import { createScheduler } from "../src/scheduler/scheduler.ts";
import { readStream } from "../src/store/read-stream.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { round } from "./measure.ts";
import type { BenchFigure } from "./types.ts";

const TIDE = fileURLToPath(new URL("../bin/tide.js", import.meta.url));
const SYNTHETIC = fileURLToPath(new URL("../src/tasks/kinds/synthetic.ts", import.meta.url));
const HEARTBEAT_MS = 500;
const CPUS = 2;
/** Tasks on the victim: as many as its queue takes (4 per CPU). */
const TASKS = 4 * CPUS;

async function controlEvents(nc: NatsConnection, stream: string) {
  const out = [];
  for await (const e of readStream(nc, { stream, domain: CLOUD_DOMAIN })) out.push(e);
  return out;
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (performance.now() > deadline) throw new Error(`${what}: not reached after ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}

/** The node-loss figure and its parts. */
export interface LossResult {
  figure: BenchFigure;
  detail: string;
}

/**
 * scheduler.node_loss_to_rescheduled.seconds: a real `tide worker` process
 * (heartbeat every 500 ms) holds 8 long tasks (2 running, 6 queued); it is
 * SIGKILLed; the clock runs from the kill until every one of its tasks has a
 * `task.rescheduled` (reason node_lost). It includes the detection the
 * heartbeat interval dictates: lost after 3 missed beats.
 */
export async function measureNodeLoss(ctx: BenchContext): Promise<LossResult> {
  return withTopology(ctx, { cloud: true }, async ({ connect, dir }) => {
    const nc = await connect(CLOUD_DOMAIN);
    const monitor = startNodeMonitor({ nc: await connect(CLOUD_DOMAIN), checkMs: 50 });
    const scheduler = createScheduler({ nc: await connect(CLOUD_DOMAIN), id: "bench", tickMs: 50 });
    await monitor.start();
    await scheduler.start();
    const args = [TIDE, "worker", "--dir", dir, "--name", "victim", "--module", SYNTHETIC, "--kinds", "synthetic.wait", "--cpus", String(CPUS), "--heartbeat-ms", String(HEARTBEAT_MS)];
    const victim = spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, TIDE_LOG_LEVEL: "error" } });
    try {
      await until(async () => scheduler.state().nodes.has("worker-victim"), Boolean, "victim registered");
      for (let i = 0; i < TASKS; i++) await submitTask({ kind: "synthetic.wait", payload: { ms: 600_000, steps: 1 } }, { nc });
      await until(() => controlEvents(nc, "TASKS"), (events) => events.filter((e) => e.event.type === "tide.task.started.v1").length >= CPUS, "victim running its tasks");
      ctx.progress(`node loss: killing a worker holding ${TASKS} tasks (heartbeat ${HEARTBEAT_MS} ms)`);

      const killedAt = Date.now();
      const t0 = performance.now();
      victim.kill("SIGKILL");
      const events = await until(() => controlEvents(nc, "TASKS"), (all) => all.filter((e) => e.event.type === "tide.task.rescheduled.v1").length >= TASKS, "all rescheduled");
      const seconds = (performance.now() - t0) / 1000;
      const lost = (await controlEvents(nc, "NODES")).find((e) => e.event.type === "tide.node.lost.v1");
      const lostAfter = lost ? (Date.parse(lost.storedAt) - killedAt) / 1000 : Number.NaN;
      const lastAfter = Math.max(...events.filter((e) => e.event.type === "tide.task.rescheduled.v1").map((e) => Date.parse(e.storedAt))) - killedAt;
      ctx.progress(`node loss: all ${TASKS} tasks rescheduled ${seconds.toFixed(2)} s after the kill (node.lost after ${lostAfter.toFixed(2)} s)`);
      return {
        figure: { name: "scheduler.node_loss_to_rescheduled.seconds", value: round(seconds, 2), unit: "s" },
        detail:
          `a \`tide worker\` with ${TASKS} tasks SIGKILLed: node.lost stored ${lostAfter.toFixed(2)} s after the kill (a node is lost once silent for 3 beats of ${HEARTBEAT_MS} ms, ` +
          `counted from its last beat: ${(2 * HEARTBEAT_MS) / 1000}-${(3 * HEARTBEAT_MS) / 1000} s after a kill), ` +
          `the last of its ${TASKS} tasks rescheduled ${(lastAfter / 1000).toFixed(2)} s after the kill; the difference is the detector's and the scheduler's polling (50 ms here).`,
      };
    } finally {
      if (victim.exitCode === null && victim.signalCode === null) victim.kill("SIGKILL");
      await scheduler.stop();
      await monitor.stop();
    }
  });
}
