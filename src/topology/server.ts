import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { findNatsServer } from "../../scripts/ensure-nats-server.mjs";
import { TopologyError } from "../errors.ts";
import type { Logger } from "../log.ts";

export interface ServerSpec {
  /** `hub` or `edge-<id>`. */
  name: string;
  configPath: string;
  monitorUrl: string;
  logPath: string;
  /** Extra environment for `$VAR`s in the config. */
  env?: Record<string, string>;
}

const children = new Set<ChildProcess>();
process.once("exit", () => {
  // Never leave a server behind when this process dies on an unhandled error.
  for (const child of children) child.kill("SIGKILL");
});

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
    });
    closeSync(log);
    children.add(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        children.delete(child);
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
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) await this.kill();
  }

  /** Crash it: SIGKILL, no shutdown. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill("SIGKILL");
    await this.exited;
  }
}
