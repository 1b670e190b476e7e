import type { Msg, NatsConnection } from "nats";
import { randomInt } from "node:crypto";
import { setImmediate as yieldToLoop, setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { ValidationError, errorMessage } from "../../src/errors.ts";
import { subjects } from "../../src/events/subjects.ts";
import { EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { parseCommand } from "./commands.ts";
import type { DeviceSnapshot, DeviceStep } from "./device.ts";
import { createSimulation, type SimulationConfig, type SimulationConfigInput } from "./simulation.ts";
import { copyStats, emptyStats, type SimulatorStats } from "./stats.ts";

export interface SimulatorOptions extends Omit<SimulationConfigInput, "seed" | "startMs"> {
  /** A connection to the edge's server; the caller owns (and closes) it. */
  nc: NatsConnection;
  edge: EdgeId;
  /** Default: a random seed (see `config.seed` to reproduce the run). */
  seed?: number;
  /** Simulated time of the first reading (epoch ms); default: now. */
  startMs?: number;
  /** Stop after this many readings per device. */
  count?: number;
  /** Stop after this long (wall clock, ms). Without count or duration it runs until `stop()`. */
  durationMs?: number;
  logger?: Logger;
  /** How long a device waits for the ingest's reply (default 2000 ms). */
  timeoutMs?: number;
  /** Retries of one message before a device gives up on it (default 20, backing off up to 2 s). */
  maxRetries?: number;
  /** Messages a device keeps while it cannot send; beyond it the oldest are dropped (default 10,000). */
  bufferSize?: number;
}

/** A running simulator. */
export interface Simulator {
  /** The resolved configuration: with the seed and start, it reproduces the generated sequence. */
  readonly config: Readonly<SimulationConfig>;
  /** Simulated ms between two readings of a device. */
  readonly stepMs: number;
  /** Resolves when the run ends by itself (count or duration reached, all sent) or is stopped. */
  readonly done: Promise<SimulatorStats>;
  stats(): SimulatorStats;
  devices(): DeviceSnapshot[];
  /**
   * Stop measuring. Each device still sends what it has buffered, without
   * retries: after its first failure, the rest of its buffer counts as unsent.
   */
  stop(): Promise<SimulatorStats>;
}

/** What the ingest answers (edge-runtime/ingest IngestReply), as far as a device needs it. */
const IngestReply = z.union([
  z.object({ ok: z.literal(true), duplicate: z.boolean() }),
  z.object({ ok: z.literal(false), reason: z.string(), message: z.string() }),
]);

type Sendable = Exclude<DeviceStep, { kind: "dropout" }>;
type Attempt = { kind: "stored"; duplicate: boolean } | { kind: "rejected"; reason: string } | { kind: "retry"; why: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const backoffMs = (attempt: number) => Math.min(2000, 50 * 2 ** attempt);

function positive(value: number | undefined, name: string, integer: boolean): number | undefined {
  if (value !== undefined && !(value > 0 && Number.isFinite(value) && (!integer || Number.isInteger(value)))) {
    throw new ValidationError(`${name} must be a positive ${integer ? "whole " : ""}number, got ${value}`);
  }
  return value;
}

/**
 * Simulated devices publishing to an edge's ingest over request/reply, one
 * message at a time per device, retrying (same ts and seq, so the edge stores
 * it once) on `unavailable`, a timeout or no responder; and applying the
 * actuator commands they receive on `tide.command.<edge>.<device>`.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { nc, edge, count, durationMs, logger = silentLogger, timeoutMs = 2000, maxRetries = 20, bufferSize = 10_000, ...config } = options;
  if (!EdgeId.safeParse(edge).success) throw new ValidationError(`'${edge}' is not a valid edge id`);
  positive(count, "count", true);
  positive(durationMs, "durationMs", false);
  const simulation = createSimulation({ ...config, seed: config.seed ?? randomInt(0, 2 ** 32), startMs: config.startMs ?? Date.now() });
  const log = logger.child({ component: "simulator", edge });
  const stats = emptyStats();
  const abort = new AbortController();
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);
  const queues = new Map(simulation.devices.map((d) => [d.id, [] as Sendable[]]));
  const busy = new Set<string>();
  const pumps = new Set<Promise<void>>();
  let stopping = false;

  async function attempt(subject: string, body: string): Promise<Attempt> {
    try {
      const msg = await nc.request(subject, encoder.encode(body), { timeout: timeoutMs });
      const reply = IngestReply.safeParse(JSON.parse(decoder.decode(msg.data)));
      if (!reply.success) return { kind: "retry", why: "unreadable reply" };
      if (reply.data.ok) return { kind: "stored", duplicate: reply.data.duplicate };
      return reply.data.reason === "unavailable" ? { kind: "retry", why: reply.data.message } : { kind: "rejected", reason: reply.data.reason };
    } catch (error) {
      return { kind: "retry", why: errorMessage(error) };
    }
  }

  /** Send one message until the ingest has answered for it; false when given up on. */
  async function deliver(step: Sendable): Promise<boolean> {
    const subject = subjects.ingest(edge, step.device);
    stats.sent++;
    for (let n = 0; ; n++) {
      const outcome = await attempt(subject, step.body);
      if (outcome.kind === "stored") {
        if (outcome.duplicate) stats.duplicates++;
        else stats.stored++;
        return true;
      }
      if (outcome.kind === "rejected") {
        stats.rejected++;
        stats.rejectedBy[outcome.reason] = (stats.rejectedBy[outcome.reason] ?? 0) + 1;
        return true;
      }
      if (stopping || n >= maxRetries) {
        stats.failed++;
        log.warn({ device: step.device, seq: step.seq, why: outcome.why, attempts: n + 1 }, "reading not stored; giving up");
        return false;
      }
      stats.retried++;
      log.debug({ device: step.device, seq: step.seq, why: outcome.why }, "retrying");
      await pause(backoffMs(n));
    }
  }

  // One sender per device, so a device's readings arrive in order, as from real hardware.
  // Once stopped, a device still sends what it has buffered, unless the edge stops answering.
  async function pump(device: string, queue: Sendable[]): Promise<void> {
    busy.add(device);
    try {
      while (queue.length > 0) {
        const delivered = await deliver(queue.shift()!);
        if (!delivered && stopping) break;
      }
    } finally {
      busy.delete(device);
    }
  }

  function record(step: DeviceStep): void {
    stats.measured++;
    if (step.anomaly) stats.anomalies++;
    if (step.fault) stats.faults[step.fault]++;
    if (step.kind === "dropout") {
      stats.dropouts++;
      return;
    }
    const queue = queues.get(step.device)!;
    queue.push(step);
    if (queue.length > bufferSize) {
      queue.shift();
      stats.dropped++;
    }
    if (!busy.has(step.device)) {
      const running = pump(step.device, queue);
      pumps.add(running);
      void running.finally(() => pumps.delete(running));
    }
  }

  // Devices do not answer commands: the edge's INFERENCES stream stores (and acknowledges) them.
  function onCommand(msg: Msg): void {
    const parsed = parseCommand(msg.subject, msg.data);
    const device = parsed.device === undefined ? undefined : simulation.device(parsed.device);
    if (!device) return; // someone else's device
    if (!parsed.ok) {
      stats.commandsRejected++;
      log.warn({ device: parsed.device, message: parsed.message }, "command refused");
      return;
    }
    device.command(parsed.action);
    stats.commands++;
    log.info({ device: parsed.device, action: parsed.action, atSeq: device.snapshot().seq }, "command applied");
  }

  const subscription = nc.subscribe(subjects.command(edge, "*"), {
    callback: (error, msg) => (error ? log.error({ err: errorMessage(error) }, "command subscription error") : onCommand(msg)),
  });
  // Listening before the first reading, so a command decided on it is never missed.
  await nc.flush();

  async function run(): Promise<SimulatorStats> {
    const periodMs = 1000 / simulation.config.rate;
    const began = performance.now();
    for (let tick = 0; !stopping && (count === undefined || tick < count); tick++) {
      if (durationMs !== undefined && tick * periodMs >= durationMs) break;
      const wait = began + tick * periodMs - performance.now();
      // Behind schedule: catch up, but let the senders run between ticks.
      await (wait > 0 ? pause(wait) : yieldToLoop());
      if (stopping) break;
      for (const step of simulation.tick()) record(step);
      stats.ticks++;
    }
    while (pumps.size > 0) await Promise.all(pumps);
    if (!nc.isClosed()) subscription.unsubscribe();
    for (const queue of queues.values()) stats.unsent += queue.length;
    log.info({ ...stats }, "simulation ended");
    return copyStats(stats);
  }

  log.info({ devices: simulation.config.devices, faulty: simulation.config.faulty, seed: simulation.config.seed, rate: simulation.config.rate }, "simulating");
  const done = run();
  return {
    config: simulation.config,
    stepMs: simulation.stepMs,
    done,
    stats: () => copyStats(stats),
    devices: () => simulation.devices.map((d) => d.snapshot()),
    stop(): Promise<SimulatorStats> {
      stopping = true;
      abort.abort();
      return done;
    },
  };
}
