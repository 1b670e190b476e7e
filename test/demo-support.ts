import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TIDE = join(ROOT, "bin", "tide.js");

/** A `tide demo` process, as a user starts it; output collected as it comes. */
export interface DemoProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
}

/**
 * Settings that keep a demo short on a small shared machine: 5 readings/s
 * per device, the first (forced) training after 200 readings in the cloud, a
 * task every 2 s. Training itself is small by the demo's own training.json.
 */
export const QUICK_DEMO = ["--ports", "free", "--rate", "5", "--train-after", "200", "--task-every", "2"];

export function startDemo(dir: string, ...args: string[]): DemoProcess {
  return startDemoProcess(dir, args);
}

/**
 * `tide demo` with `args`; `ownGroup` runs it as a terminal runs a command: the
 * leader of its own process group, so `process.kill(-pid, "SIGINT")` is a
 * terminal's Ctrl-C (the signal goes to every process in the group).
 */
export function startDemoProcess(dir: string, args: readonly string[], options: { ownGroup?: boolean } = {}): DemoProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TIDE_LOG_LEVEL: "error", TIDE_TF_BACKEND: process.env.TIDE_TF_BACKEND ?? "cpu" };
  delete env.TIDE_DIR;
  const child = spawn(process.execPath, [TIDE, "demo", "--dir", dir, ...QUICK_DEMO, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: options.ownGroup === true });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Pids of the nats-server processes alive with a config under `dir` (the servers of that demo's topology). */
export function natsServersOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    if (!args[0]?.endsWith("nats-server")) continue;
    const config = args[args.indexOf("-c") + 1];
    if (config?.startsWith(dir + "/")) pids.push(Number(entry));
  }
  return pids;
}
