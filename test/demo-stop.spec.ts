import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DemoSummary } from "../src/demo/run.ts";
import { natsServersOf, startDemoProcess, type DemoProcess } from "./demo-support.ts";
import { eventually, tempDir } from "./harness.ts";

const dirs: string[] = [];
const started: DemoProcess[] = [];

afterAll(async () => {
  // A failed test must not leave a demo or its servers behind.
  for (const demo of started) if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill("SIGKILL");
  for (const dir of dirs) for (const pid of natsServersOf(dir)) process.kill(pid, "SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A demo run as a terminal runs it: its own process group, which a Ctrl-C signals as a whole. */
function startInTerminal(...args: string[]): { dir: string; demo: DemoProcess } {
  const dir = tempDir("tide-demo-stop-");
  dirs.push(dir);
  const demo = startDemoProcess(dir, args, { ownGroup: true });
  started.push(demo);
  return { dir, demo };
}

/** What a terminal does on Ctrl-C (SIGINT) or when it closes (SIGHUP): signal the foreground process group. */
const signalGroup = (demo: DemoProcess, signal: NodeJS.Signals) => process.kill(-demo.child.pid!, signal);

/** The process group of a process (field 5 of /proc/<pid>/stat, after the command's parenthesised name). */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

async function noServersLeft(dir: string): Promise<void> {
  await eventually(() => natsServersOf(dir), (pids) => pids.length === 0, 20_000, `no nats-server of ${dir} alive`);
}

describe("stopping tide demo from a terminal", () => {
  it("Ctrl-C while it runs: the ordered stop, exit 0, the summary printed and written, no server of the run left", { timeout: 120_000 }, async () => {
    const { dir, demo } = startInTerminal();
    await eventually(() => demo.stdout(), (out) => out.includes("Ctrl-C stops everything cleanly") || demo.child.exitCode !== null, 90_000, "the demo running");
    expect(demo.child.exitCode, demo.stderr()).toBeNull();
    const servers = natsServersOf(dir);
    expect(servers).toHaveLength(3); // the hub and two edges
    // A terminal's Ctrl-C goes to the demo's process group only: the servers are not in it, so the demo stops them, in order.
    for (const pid of servers) expect(processGroupOf(pid)).not.toBe(processGroupOf(demo.child.pid!));

    signalGroup(demo, "SIGINT");
    expect(await demo.exited, demo.stderr()).toBe(0);
    const out = demo.stdout();
    expect(out).toContain("Stopping (SIGINT)...");
    expect(out).toMatch(/Summary \(\d+ s, stopped by SIGINT\):/);
    const summary = JSON.parse(readFileSync(join(dir, "demo-summary.json"), "utf8")) as DemoSummary;
    expect(summary.stoppedBy).toBe("SIGINT");
    expect(summary.final.edges.map((e) => e.edge)).toEqual(["1", "2"]);
    expect(natsServersOf(dir)).toEqual([]);
  });

  it("Ctrl-C during start-up, once the servers run: what was started is stopped, exit 0, no server left", { timeout: 120_000 }, async () => {
    const { dir, demo } = startInTerminal();
    await eventually(() => natsServersOf(dir).length > 0 || demo.child.exitCode !== null, (up) => up, 60_000, "the first server started");
    signalGroup(demo, "SIGINT");
    expect(await demo.exited, demo.stderr()).toBe(0);
    const out = demo.stdout();
    expect(out).toContain("Stopping (SIGINT during start-up)...");
    expect(out).toContain("Stopped (SIGINT) during start-up");
    expect(out).not.toContain("Dashboard:");
    expect(out).not.toContain("Summary (");
    expect(natsServersOf(dir)).toEqual([]);
  });

  it("Ctrl-C at the very start (certificates being made): exit 0, nothing left", { timeout: 60_000 }, async () => {
    const { dir, demo } = startInTerminal();
    await eventually(() => demo.stdout(), (out) => out.includes("Starting Tide:") || demo.child.exitCode !== null, 60_000, "the start-up under way");
    signalGroup(demo, "SIGINT");
    expect(await demo.exited, demo.stderr()).toBe(0);
    expect(demo.stdout()).toContain("Stopped (SIGINT) during start-up");
    expect(natsServersOf(dir)).toEqual([]);
  });

  it("the terminal closes (SIGHUP, which the demo does not handle): the process ends and takes its servers with it", { timeout: 120_000 }, async () => {
    const { dir, demo } = startInTerminal();
    await eventually(() => demo.stdout(), (out) => out.includes("Ctrl-C stops everything cleanly") || demo.child.exitCode !== null, 90_000, "the demo running");
    expect(natsServersOf(dir)).toHaveLength(3);
    signalGroup(demo, "SIGHUP");
    await demo.exited;
    expect(demo.child.signalCode).toBe("SIGHUP");
    await noServersLeft(dir);
  });
});
