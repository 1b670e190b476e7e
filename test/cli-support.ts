import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const TIDE = join(ROOT, "bin", "tide.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `tide args...` to completion, as a user would. */
export function tide(...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, TIDE_LOG_LEVEL: "warn" };
  delete env.TIDE_DIR;
  const child = spawn(process.execPath, [TIDE, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Non-empty stdout lines, each parsed as JSON. */
export const jsonLines = <T>(stdout: string): T[] =>
  stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
