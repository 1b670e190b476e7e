import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { findNatsServer } from "../scripts/ensure-nats-server.mjs";

/** What the figures were measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  natsServer: string;
  /** 1-minute load average when the run began: other work on the machine shows here. */
  loadAtStart: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) return line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? "unknown";
}

function natsServerVersion(): string {
  const bin = findNatsServer();
  if (!bin) return "not found";
  const out = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return (out.stdout || out.stderr).trim().replace(/^nats-server:\s*/, "") || "unknown";
}

export function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    natsServer: natsServerVersion(),
    loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  };
}
