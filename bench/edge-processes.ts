import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { PROJECT_ROOT as ROOT } from "../src/paths.ts";
import { TIDE, TIDE_NODE_FLAGS } from "../test/tide-command.ts";

/** A `tide` command running as a process of its own. */
export interface TideProcess {
  pid: number;
  /** The stdout line that said it is up, matched by `ready`. */
  readyLine: RegExpMatchArray;
  /** Its stderr so far (pino logs at TIDE_LOG_LEVEL), for error messages. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Start `node [bin flags] [nodeArgs] bin/tide.js ...args` (as `tide ...args`
 * runs, with the flags of bin/tide.js's first line) and wait for a stdout line
 * matching `ready`. The child is the Node process itself (bin/tide.js imports
 * the bundle of the sources in-process), so its /proc figures are its own.
 */
export async function startTide(args: string[], ready: RegExp, options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<TideProcess> {
  const { env = {}, nodeArgs = [], timeoutMs = 60_000 } = options;
  const child: ChildProcess = spawn(process.execPath, [...TIDE_NODE_FLAGS, ...nodeArgs, TIDE, ...args], {
    cwd: ROOT,
    env: { ...process.env, TIDE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(kill, graceMs);
    await exited;
    clearTimeout(timer);
    process.off("exit", kill);
  };
  try {
    const readyLine = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tide ${args[0]} not up after ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout = (stdout + chunk.toString("utf8")).slice(-20_000);
        const match = ready.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`tide ${args[0]} exited (${code ?? signal}) before it was up: ${stderr.trim().split("\n").slice(-5).join(" | ")}`));
      });
    });
    return { pid: child.pid!, readyLine, stderr: () => stderr, stop };
  } catch (error) {
    await stop(2000);
    throw error;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system, all threads) a process has used so far; undefined when /proc cannot say. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine so far (from /proc/stat), all cores together. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: (total - idle) / USER_HZ, total: total / USER_HZ };
  } catch {
    return undefined;
  }
}

/** Current resident set size of a live process, MiB. */
export function currentRssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Run-queue wait of a process's main thread so far, seconds (time it was ready to run but no CPU was free); from /proc/<pid>/schedstat. */
export function runQueueWaitSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/);
    return Number(fields[1]) / 1e9;
  } catch {
    return undefined;
  }
}

/** Per process over a phase: CPU used and, for the named processes, how long its main thread waited for a free CPU, both in % of the phase. */
export type CpuShares = Map<string, { cpu: number; wait?: number }>;

/**
 * CPU use per process over a phase: `start()` before, `stop()` after; each
 * process's share in % of one core, plus this process (`bench`) and the rest
 * of the machine (`other`: what none of them used, i.e. work sharing it).
 */
export function cpuMeter(pids: ReadonlyMap<string, number>) {
  const read = () => ({
    at: performance.now(),
    machine: machineCpuSeconds(),
    self: process.cpuUsage(),
    per: new Map([...pids].map(([name, pid]) => [name, { cpu: cpuSeconds(pid), wait: runQueueWaitSeconds(pid) }])),
  });
  return {
    start() {
      const before = read();
      return {
        stop(): CpuShares {
          const after = read();
          const seconds = (after.at - before.at) / 1000;
          const pct = (s: number) => (s / seconds) * 100;
          const out: CpuShares = new Map();
          let ours = 0;
          for (const [name, b] of before.per) {
            const a = after.per.get(name);
            if (a?.cpu === undefined || b.cpu === undefined) continue;
            const wait = a.wait !== undefined && b.wait !== undefined ? pct(a.wait - b.wait) : undefined;
            out.set(name, { cpu: pct(a.cpu - b.cpu), ...(wait === undefined ? {} : { wait }) });
            ours += a.cpu - b.cpu;
          }
          const self = process.cpuUsage(before.self);
          const selfSeconds = (self.user + self.system) / 1e6;
          out.set("bench", { cpu: pct(selfSeconds) });
          ours += selfSeconds;
          if (after.machine && before.machine) out.set("other", { cpu: Math.max(0, pct(after.machine.busy - before.machine.busy - ours)) });
          return out;
        },
      };
    },
  };
}

/** `edge runtime 95% (waited 20%), edge-1 nats-server 40%, ...` */
export function describeCpu(shares: CpuShares): string {
  return [...shares].map(([name, { cpu, wait }]) => `${name} ${Math.round(cpu)}%${wait !== undefined && name === "edge runtime" ? ` (waited for a CPU ${Math.round(wait)}% of the time)` : ""}`).join(", ");
}
