import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, TIDE } from "./cli-support.ts";
import { eventually, tempDir } from "./harness.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tide args...` with stderr a pipe (not a terminal) and TIDE_LOG_LEVEL as given (unset by default). */
function start(args: readonly string[], logLevelEnv?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TIDE_DIR;
  delete env.TIDE_LOG_LEVEL;
  if (logLevelEnv !== undefined) env.TIDE_LOG_LEVEL = logLevelEnv;
  const child = spawn(process.execPath, [TIDE, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const seen = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (seen.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (seen.stderr += chunk.toString()));
  const ended = new Promise<Ended>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, ...seen }));
  });
  return { child, seen, ended };
}

/**
 * `tide up --servers-only` (a hub and one edge on free ports) with `flags`,
 * stopped with SIGINT once up: its exit code and what it wrote.
 */
async function upAndDown(flags: readonly string[]): Promise<Ended> {
  const dir = tempDir("tide-log-");
  dirs.push(dir);
  const up = start(["up", "--servers-only", "--edges", "1", "--ports", "free", "--dir", dir, ...flags]);
  await eventually(() => up.seen.stdout.includes("Tide is up") || up.child.exitCode !== null, (ready) => ready, 60_000, "tide up");
  up.child.kill("SIGINT");
  return up.ended;
}

interface LogLine {
  level: number;
  msg: string;
}

/** Every stderr line, parsed as JSON (a line that is not JSON fails the test). */
const logLines = (stderr: string): LogLine[] =>
  stderr
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });

// pino's numeric levels.
const DEBUG = 20;
const INFO = 30;
const WARN = 40;

describe("log levels (--log-level L, --log-level=L, TIDE_LOG_LEVEL)", () => {
  it("refuses a level it does not know, with exit 2 and the levels it knows", async () => {
    const levels = "trace, debug, info, warn, error, fatal, silent";
    const [withEquals, spaced, missing, fromEnv] = await Promise.all([
      start(["--log-level=loud", "status"]).ended,
      start(["status", "--log-level", "LOUD"]).ended,
      start(["status", "--log-level"]).ended,
      start(["status"], "loud").ended,
    ]);
    expect(withEquals.code).toBe(2);
    expect(withEquals.stderr).toBe(`tide: --log-level must be one of ${levels}; got 'loud'\n`);
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).toContain("got 'LOUD'");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("got nothing");
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toBe(`tide: TIDE_LOG_LEVEL must be one of ${levels}; got 'loud'\n`);
  });

  it("by default writes info lines, no debug lines, as JSON lines on stderr (not a terminal)", async () => {
    const run = await upAndDown([]);
    expect(run.code, run.stderr).toBe(0);
    const lines = logLines(run.stderr);
    expect(lines.some((l) => l.level === INFO && l.msg === "topology up")).toBe(true);
    expect(lines.filter((l) => l.level < INFO)).toEqual([]);
  });

  it("--log-level=debug (with '=') writes debug lines too", async () => {
    const run = await upAndDown(["--log-level=debug"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = logLines(run.stderr);
    expect(lines.some((l) => l.level === DEBUG && l.msg === "nats-server healthy")).toBe(true);
    expect(lines.some((l) => l.level === INFO && l.msg === "topology up")).toBe(true);
  });

  it("--log-level warn writes no info line", async () => {
    const run = await upAndDown(["--log-level", "warn"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Tide is up");
    expect(logLines(run.stderr).filter((l) => l.level < WARN)).toEqual([]);
  });
});
