import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { startSimulator, type Simulator } from "../../edge-runtime/simulator/runner.ts";
import { stepMsOf } from "../../edge-runtime/simulator/simulation.ts";
import { checkpointStore } from "../../projections/engine/checkpoints.ts";
import { productionModel } from "../../projections/models/queries.ts";
import { recentRuns } from "../../projections/training-runs/queries.ts";
import { errorMessage } from "../errors.ts";
import { startFleet } from "../fleet.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import type { Logger } from "../log.ts";
import { startCloudWorker, type CloudWorker } from "../tasks/index.ts";
import { connectAsGateway } from "../devices/index.ts";
import { connectTo, type TopologyOptions } from "../topology/index.ts";
import { requestTraining } from "../training/run-events.ts";
import { decideFirstTraining, evolveFirstTraining, initialFirstTraining, type FirstTrainingSettings } from "./first-training.ts";
import { createStatusProbe, newestReadingMs, readingsInCloud } from "./probe.ts";
import { DEMO_SIMULATION, demoClockStart, ensureDemoSettings, resumedClockStart } from "./settings.ts";
import { renderStatus, type DemoStatus } from "./status.ts";
import { listenForStop } from "../stop-request.ts";
import { startTaskFeeder } from "./tasks.ts";

export interface DemoOptions {
  dir: string;
  edges: number;
  ports: TopologyOptions["ports"];
  /** Stop by itself after this long; default: at Ctrl-C. */
  durationMs?: number;
  /** Simulated devices per edge (the last one has a faulty sensor). */
  devices: number;
  /** Readings per second per device. */
  rate: number;
  /** The demo asks for the first training run once this many readings reached the cloud (and no model is published yet). */
  trainAfter: number;
  /** A task every this often. */
  taskEveryMs: number;
  logger: Logger;
  /** Where the demo's story and live status go. */
  out: (line?: string) => void;
  /** Redraw the live status in place (a terminal) instead of printing it every 10 s. */
  live: boolean;
}

/** What a run ends with (also written to `<dir>/demo-summary.json`). */
export interface DemoSummary {
  stoppedBy: string;
  seconds: number;
  /** Readings the simulated devices got stored, and what the edges' ingest stored and rejected (this run). */
  simulated: { stored: number; rejected: number; anomalies: number; commands: number };
  /** Readings that reached the cloud READINGS during this run (and in total). */
  edgeToCloud: { thisRun: number; total: number };
  /** Training runs the demo forced in this run to get a first model (none when one was already in production). */
  forcedTraining: string[];
  final: DemoStatus;
}

/**
 * Wait (at most `limitMs`) until the cloud READINGS and the `devices`
 * projection that counts them have both stopped moving: the same stream
 * sequence and checkpoint over three looks `everyMs` apart.
 */
async function settled(cloud: NatsConnection, db: Database.Database, everyMs = 200, limitMs = 10_000): Promise<void> {
  const jsm = await cloud.jetstreamManager({ domain: CLOUD_DOMAIN });
  const checkpoints = checkpointStore(db);
  const look = async () => `${(await jsm.streams.info("READINGS")).state.last_seq}/${checkpoints.get("devices")?.last_seq ?? 0}`;
  const deadline = Date.now() + limitMs;
  let last = await look();
  for (let quiet = 0; quiet < 2 && Date.now() < deadline; ) {
    await sleep(everyMs);
    const now = await look();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

/** A demo that ran (its summary), or one stopped by a signal during start-up (everything started was stopped). */
export type DemoResult = { ran: true; summary: DemoSummary } | { ran: false; stoppedBy: string };

/** The first model: forced runs after `trainAfter` readings, retried when one fails (see decideFirstTraining). */
function startFirstTraining(db: Database.Database, nc: NatsConnection, settings: FirstTrainingSettings, log: Logger, out: (line: string) => void) {
  let state = initialFirstTraining();
  let busy = false;
  const forced: string[] = [];
  const step = async () => {
    const view = { now: Date.now(), production: productionModel(db)?.version, runs: recentRuns(db, 10), cloudReadings: readingsInCloud(db) };
    const next = decideFirstTraining(view, state, settings);
    switch (next.action) {
      case "wait":
        return;
      case "done":
        return clearInterval(timer);
      case "failed":
        state = evolveFirstTraining(state, { failed: next.runId, at: view.now }, settings);
        log.warn({ runId: next.runId, giveUp: next.giveUp }, "the demo's training run ended without a model");
        return out(`  → ${next.runId} ended without a model; ${next.giveUp ? "no more forced runs (see tide status)" : `asking again in ${settings.retryAfterMs / 1000} s`}`);
      case "request": {
        // Forced through the gate (its verdict is still recorded): on a few minutes of noisy readings a first model
        // often only ties persistence, and the demo's point is to show the path to the edges. Later runs (the
        // schedule, drift) must pass the gate.
        const detail = `tide demo: ${view.cloudReadings} readings reached the cloud; the first model is forced through the gate`;
        const { runId } = await requestTraining(nc.jetstream({ domain: CLOUD_DOMAIN }), { reason: "manual", detail, force: true }, "tide://demo");
        state = evolveFirstTraining(state, { requested: runId }, settings);
        forced.push(runId);
        return out(`  → ${view.cloudReadings} readings in the cloud: training requested (${runId})`);
      }
      default: {
        const never: never = next;
        return never;
      }
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    step()
      .catch((error: unknown) => log.warn({ err: errorMessage(error) }, "demo training request failed; retrying"))
      .finally(() => (busy = false));
  }, 1000);
  timer.unref();
  return { forced: () => [...forced], stop: () => clearInterval(timer) };
}

/**
 * `tide demo`: the whole system on this machine. Hub + edges + cloud services
 * + a cloud worker, simulated devices on every edge (one faulty sensor each,
 * anomalies), the first training run once enough data arrived, canary
 * rollouts of published models (`<dir>/rollout.json`), tasks for the
 * scheduler, a live status and the dashboard. State stays in `dir`, so a
 * second run resumes. SIGINT/SIGTERM stop everything in order, also during
 * start-up.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { dir, out, logger } = options;
  const startedAt = Date.now();
  let running = false;
  // Listening before anything starts: a Ctrl-C during start-up stops what was started, in order.
  const stop = listenForStop({
    onSignal: (signal) => running || out(`${signal}: stopping once the start-up step under way ends...`),
    onRepeat: (signal) => out(`${signal} again: already stopping, in order`),
  });
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async () => {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, "demo stop step failed"));
  };
  const stoppedDuringStartUp = (): DemoResult => {
    out(`Stopping (${stop.stoppedBy} during start-up)...`);
    return { ran: false, stoppedBy: stop.stoppedBy! };
  };
  try {
    for (const path of ensureDemoSettings(dir)) out(`wrote ${path} (demo settings; edit it to change them)`);
    out(`Starting Tide: hub + ${options.edges} edge leaf node(s), cloud services, edge runtimes...`);
    const fleet = await startFleet({ dir, edges: options.edges, ports: options.ports, logger });
    stops.push(() => fleet.stop());
    if (stop.stoppedBy) return stoppedDuringStartUp();
    const topology = fleet.topology.file;
    const dashboardUrl = `${fleet.cloud.httpUrl}/`;
    const worker: CloudWorker = await startCloudWorker({ topology, name: "demo", cpus: 2, memoryMb: 2048, logger });
    stops.push(() => worker.stop());
    const probe = createStatusProbe(fleet, startedAt);
    const atStart = await probe();

    const simulators: Simulator[] = [];
    const { speed, anomalyRate } = DEMO_SIMULATION;
    // A run on a directory that holds readings resumes the simulated clock after them (see resumedClockStart).
    const clockNow = Date.now();
    const clockStart = resumedClockStart(clockNow, await newestReadingMs(fleet), stepMsOf({ rate: options.rate, speed }));
    const clockStory = clockStart === demoClockStart(clockNow) ? "the warm afternoon: cooling decisions early on" : "resumed after the readings this directory holds";
    for (const { id } of topology.edges) {
      if (stop.stoppedBy) return stoppedDuringStartUp();
      // The simulated devices connect as the edge's device gateway: device rights only, never the edge's service user.
      const nc = await connectAsGateway(topology, id, { name: `tide-demo-devices-${id}` });
      stops.push(() => nc.close());
      const simulator = await startSimulator({ nc, edge: id, devices: options.devices, faulty: 1, rate: options.rate, speed, anomalyRate, startMs: clockStart, logger });
      simulators.push(simulator);
      stops.push(() => simulator.stop());
    }
    const cloud = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-demo" });
    stops.push(() => cloud.close());
    if (stop.stoppedBy) return stoppedDuringStartUp();
    // On a terminal the live status shows the run; a line printed under it would break the redraw.
    const firstTraining = { trainAfter: options.trainAfter, maxAttempts: 5, retryAfterMs: 10_000 };
    const training = startFirstTraining(fleet.cloud.db, cloud, firstTraining, logger, (l) => (options.live ? undefined : out(l)));
    stops.push(() => training.stop());
    const feeder = startTaskFeeder({ nc: cloud, edges: topology.edges.map((e) => e.id), everyMs: options.taskEveryMs, logger });
    stops.push(() => feeder.stop());
    running = true;

    out(`  hub ${topology.hub.clientUrl}; ${topology.edges.map((e) => `edge ${e.id} ${e.clientUrl}`).join("; ")}; a cloud worker (worker-demo)`);
    out(`  ${options.devices} simulated device(s) per edge at ${options.rate} Hz (the last one has a faulty sensor), TF.js backend ${[...fleet.edges.values()][0]?.backend}`);
    out(`  simulated clock: ${speed}x, from ${new Date(clockStart).toISOString().slice(0, 16)}Z (${clockStory})`);
    out(`  training once ${options.trainAfter} readings reached the cloud, then every ${1500} new readings; published models roll out canary-first`);
    out(`  Dashboard: ${dashboardUrl}   Metrics: ${fleet.cloud.httpUrl}/metrics, ${[...fleet.edges.values()].map((e) => `${e.httpUrl}/metrics`).join(", ")}`);
    out(options.durationMs === undefined ? "  Ctrl-C stops everything cleanly; state stays in " + topology.dir : `  stopping by itself in ${Math.round(options.durationMs / 1000)} s; state stays in ${topology.dir}`);
    out();

    let drawn = 0;
    const draw = async () => {
      const lines = renderStatus(await probe(), dashboardUrl);
      if (options.live) {
        out(`${drawn ? `\x1b[${drawn}A` : ""}\x1b[J${lines.join("\n")}`);
        drawn = lines.length;
      } else {
        for (const line of lines) out(line);
      }
    };
    let drawing: Promise<void> | undefined;
    const ticker = setInterval(() => {
      // A probe waits on the edges' streams: never two at once.
      drawing ??= draw()
        .catch((error: unknown) => logger.warn({ err: errorMessage(error) }, "status not drawn"))
        .finally(() => (drawing = undefined));
    }, options.live ? 1000 : 10_000);
    stops.push(() => clearInterval(ticker));

    const stoppedBy = await stop.until(options.durationMs);
    clearInterval(ticker);
    await drawing;
    await draw();
    out();
    out(`Stopping (${stoppedBy})...`);
    // The devices first, so the summary's counts (devices, ingest, DLQ streams) are of one settled moment.
    const devices = await Promise.all(simulators.map((simulator) => simulator.stop()));
    // What the devices sent last is still on its way (edge UPLINK -> cloud READINGS -> the cloud projections, which
    // commit a moment later): the summary counts once that has come to rest, so a second run starts where this one ended.
    await settled(cloud, fleet.cloud.db).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, "cloud not settled before the summary"));
    const final = await probe();
    const simulated = { stored: 0, rejected: 0, anomalies: 0, commands: 0 };
    for (const s of devices) {
      simulated.stored += s.stored;
      simulated.rejected += s.rejected;
      simulated.anomalies += s.anomalies;
      simulated.commands += s.commands;
    }
    const summary: DemoSummary = {
      stoppedBy,
      seconds: Math.round((Date.now() - startedAt) / 1000),
      simulated,
      edgeToCloud: { thisRun: final.cloudReadings - atStart.cloudReadings, total: final.cloudReadings },
      forcedTraining: training.forced(),
      final,
    };
    writeFileSync(join(topology.dir, "demo-summary.json"), JSON.stringify(summary, null, 2) + "\n");
    return { ran: true, summary };
  } catch (error) {
    // A terminal's Ctrl-C reaches the whole process group: a tool that start-up runs (openssl) may die of it,
    // and, run synchronously, fail before this process has handled the same signal: give it that turn.
    if (!running) await sleep(100);
    if (!running && stop.stoppedBy) {
      logger.warn({ err: errorMessage(error) }, "start-up failed after the stop signal");
      return stoppedDuringStartUp();
    }
    throw error;
  } finally {
    await stopAll();
    stop.dispose();
  }
}

/** The summary for people. */
export function renderSummary(s: DemoSummary, dir: string): string[] {
  const f = s.final;
  const r = f.rollout;
  const tasks = Object.entries(f.tasks).map(([k, v]) => `${v} ${k}`).join(", ") || "none";
  return [
    `Summary (${s.seconds} s, stopped by ${s.stoppedBy}):`,
    `  devices: ${s.simulated.stored} readings stored by the edges, ${s.simulated.rejected} bad payloads dead-lettered, ${s.simulated.anomalies} anomalies injected, ${s.simulated.commands} cooling commands obeyed`,
    `  edge → cloud: ${s.edgeToCloud.thisRun} readings reached the cloud in this run (${s.edgeToCloud.total} in total)`,
    `  edges: ${f.edges.map((e) => `edge ${e.edge} ${e.inferences} inferences, ${e.decisions} decisions, ${e.anomalies} anomalies, ${e.dlq ?? "-"} in the DLQ, model ${e.model}`).join("; ")}`,
    `  training: ${f.runs.completed} run(s) completed, ${f.runs.failed} failed, ${f.runs.published} model(s) published; production ${f.production ?? "none"}`,
    `  rollout: ${r ? `${r.rolloutId} of ${r.version}: ${r.status}${r.reason ? ` (${r.reason})` : ""}${r.stages.length ? `; stages ${r.stages.map((st) => `${st.name} [${st.edges.join(", ")}]`).join(" → ")}` : ""}` : "none"}`,
    `  tasks: ${tasks}${f.delay ? `; T_delay p50 ${Math.round(f.delay.p50Ms)} ms, p99 ${Math.round(f.delay.p99Ms)} ms` : ""}`,
    `State kept in ${dir} (a second run resumes from it; summary in ${join(dir, "demo-summary.json")}).`,
  ];
}
