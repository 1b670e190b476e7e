import { readFileSync } from "node:fs";
import type { BenchOutcome } from "./types.ts";
import type { Topology } from "../src/topology/index.ts";

/** Peak resident set (VmHWM) of a live process, in MiB; undefined when it cannot be read. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS of this Node process so far, in MiB. */
export function selfPeakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Peak RSS per process role across the benchmarks. Each benchmark starts its
 * own servers, so a role (`hub`, `edge-1`) is the highest peak any of its
 * processes reached; `bench` is this Node process.
 */
export function createRssRecorder() {
  const peaks = new Map<string, number>();
  const marks: { label: string; mb: number; nowMb: number }[] = [];
  const note = (role: string, mb: number | undefined) => {
    if (mb !== undefined) peaks.set(role, Math.max(peaks.get(role) ?? 0, mb));
  };
  return {
    /** Read every running server's high-water mark; call just before the topology stops. */
    sample(topology: Topology): void {
      for (const [name, server] of topology.servers) if (server.pid !== undefined) note(name, peakRssMb(server.pid));
      note("bench", selfPeakRssMb());
    },
    /** Note this process's peak so far, after `label` (the peak only grows: the step shows which benchmark raised it). */
    mark(label: string): void {
      marks.push({ label, mb: selfPeakRssMb(), nowMb: process.memoryUsage().rss / 2 ** 20 });
    },
    marks(): readonly { label: string; mb: number; nowMb: number }[] {
      return marks;
    },
    peaks(): ReadonlyMap<string, number> {
      note("bench", selfPeakRssMb());
      return peaks;
    },
  };
}
export type RssRecorder = ReturnType<typeof createRssRecorder>;

/** rss.<process>.mb figures and their BENCHMARKS.md section. */
export function rssOutcome(recorder: RssRecorder): BenchOutcome {
  const peaks = [...recorder.peaks()].sort(([a], [b]) => (a === "bench" ? 1 : b === "bench" ? -1 : a.localeCompare(b)));
  return {
    figures: peaks.map(([role, mb]) => ({ name: `rss.${role}.mb`, value: Math.round(mb * 10) / 10, unit: "MiB" })),
    title: "Peak memory (`rss.<process>.mb`)",
    how:
      "Peak resident set size of each process over the benchmarks above: `VmHWM` from `/proc/<pid>/status` of the hub (`rss.hub.mb`) and " +
      "edge (`rss.edge-1.mb`) nats-server processes, read just before each benchmark stops its servers (each benchmark starts its own; " +
      "the figure is the highest of them), and `process.resourceUsage().maxRSS` of the benchmark's own Node process (`rss.bench.mb`), " +
      "which also holds the benchmark's in-memory rows and, while forwarding, both ends' clients.",
    details: [
      peaks.map(([role, mb]) => `${role} ${mb.toFixed(1)} MiB`).join(", ") + ".",
      `This process's peak (and current) RSS after each step: ${recorder
        .marks()
        .map(({ label, mb, nowMb }) => `${label} ${mb.toFixed(0)} (${nowMb.toFixed(0)}) MiB`)
        .join(", ")}. ` +
        "Much of the peak is garbage V8 had not yet collected while tens of thousands of events a second passed through (it " +
        "lets the old generation grow before a full collection), not live data; the figure in parentheses is what was left after the step.",
    ],
  };
}
