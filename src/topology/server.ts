import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { findNatsServer } from "../../scripts/ensure-nats-server.mjs";
import { TopologyError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { within } from "../within.ts";

export interface ServerSpec {
  /** `hub` or `edge-<id>`. */
  name: string;
  configPath: string;
  monitorUrl: string;
  logPath: string;
  /** Extra environment for `$VAR`s in the config. */
  env?: Record<string, string>;
}

// Servers run detached (their own session and process group): a terminal's Ctrl-C or hangup goes to this
// process only, which stops them in order (edges first, after the services) instead of racing that stop.
// In exchange this process must end them itself whenever it ends.
const children = new Set<ChildProcess>();
process.once("exit", () => {
  // Never leave a server behind when this process dies on an unhandled error.
  for (const child of children) child.kill("SIGKILL");
});

/** Signals whose default action ends this process without the "exit" event. */
const FATAL_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * While servers run: a fatal signal that nothing else in this process
 * handles (a command without an ordered stop, a closed terminal) first stops
 * the servers, then takes its default action. A process that handles the
 * signal itself (tide up, tide demo) keeps that to itself.
 */
function onFatalSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  for (const child of children) child.kill("SIGTERM");
  for (const s of FATAL_SIGNALS) process.off(s, onFatalSignal);
  process.kill(process.pid, signal);
}

function track(child: ChildProcess): void {
  if (children.size === 0) for (const s of FATAL_SIGNALS) process.on(s, onFatalSignal);
  children.add(child);
}

function untrack(child: ChildProcess): void {
  children.delete(child);
  if (children.size === 0) for (const s of FATAL_SIGNALS) process.off(s, onFatalSignal);
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function healthy(monitorUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** A nats-server child process that can be stopped, killed and started again with the same config and store. */
export class NatsServerProcess {
  readonly spec: ServerSpec;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly logger: Logger | undefined;

  constructor(spec: ServerSpec, logger?: Logger) {
    this.spec = spec;
    this.logger = logger;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Start the server and wait until its monitoring endpoint says it is healthy (JetStream included). */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.running) return;
    const bin = findNatsServer();
    if (!bin) throw new TopologyError("nats-server not found: run `npm run ensure-nats` or set NATS_SERVER_BIN");
    const log = openSync(this.spec.logPath, "a");
    const child = spawn(bin, ["-c", this.spec.configPath], {
      env: { ...process.env, ...this.spec.env },
      stdio: ["ignore", log, log],
      detached: true,
    });
    closeSync(log);
    track(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        untrack(child);
        this.logger?.debug({ server: this.spec.name, code, signal }, "nats-server exited");
        resolve();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new TopologyError(`nats-server ${this.spec.name} exited at start:\n${tail(this.spec.logPath)}`);
      }
      if (await healthy(this.spec.monitorUrl)) {
        this.logger?.debug({ server: this.spec.name, pid: child.pid }, "nats-server healthy");
        return;
      }
      await sleep(50);
    }
    await this.kill();
    throw new TopologyError(`nats-server ${this.spec.name} not healthy after ${timeoutMs} ms:\n${tail(this.spec.logPath)}`);
  }

  /** Graceful stop (SIGTERM), escalating to SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill("SIGTERM");
    const exited = await within(this.exited.then(() => true), graceMs);
    if (!exited) await this.kill();
  }

  /** Crash it: SIGKILL, no shutdown. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill("SIGKILL");
    await this.exited;
  }
}
