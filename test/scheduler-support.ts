import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import type { EventData, EventType, TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { PROJECT_ROOT as ROOT } from "../src/paths.ts";
import { readStream, type StoredEvent } from "../src/store/read-stream.ts";
import { TIDE } from "./tide-command.ts";

export { ROOT, TIDE };
/** The synthetic task kinds module, as `tide worker --module` loads it. */
export const SYNTHETIC_KINDS = join(ROOT, "src", "tasks", "kinds", "synthetic.ts");

/** Every TASKS event (optionally of one task), in stream order. */
export async function taskEvents(nc: NatsConnection, taskId?: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of readStream(nc, { stream: "TASKS", domain: CLOUD_DOMAIN, ...(taskId ? { subject: `tide.task.${taskId}` } : {}) })) out.push(e);
  return out;
}

/** Every NODES event, in stream order. */
export async function nodeEvents(nc: NatsConnection): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of readStream(nc, { stream: "NODES", domain: CLOUD_DOMAIN })) out.push(e);
  return out;
}

/** The data of the events of one type. */
export function dataOf<T extends EventType>(events: readonly StoredEvent[], type: T): EventData<T>[] {
  return events.filter((e) => e.event.type === type).map((e) => (e.event as TideEvent<T>).data as EventData<T>);
}

/** Nodes registered (and not lost since) according to NODES. */
export async function liveNodes(nc: NatsConnection): Promise<string[]> {
  const live = new Set<string>();
  for (const { event } of await nodeEvents(nc)) {
    if (event.type === "tide.node.registered.v1") live.add(event.data.node);
    if (event.type === "tide.node.lost.v1") live.delete(event.data.node);
  }
  return [...live].sort();
}

/** Run `tide args...` to completion. */
export function tide(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startTide(args);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start `tide args...` as a child process (a real `tide worker`, say); stderr is kept for failure messages. */
export function startTide(args: string[]): ChildProcess & { output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TIDE_LOG_LEVEL: "warn" };
  delete env.TIDE_DIR;
  const child = spawn(process.execPath, [TIDE, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  return Object.assign(child, { output: () => output });
}

/** SIGKILL a child and wait until it is gone. */
export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await gone;
}

/** Append `n` readings of `devices` devices to an edge's READINGS through the event store (as ingest would). */
export async function appendReadings(nc: NatsConnection, edge: string, n: number, devices = 20): Promise<void> {
  const { createEventWriter } = await import("../src/store/event-writer.ts");
  const { createEvent, subjects } = await import("../src/events/index.ts");
  const writer = createEventWriter(nc.jetstream({ domain: `edge-${edge}` }));
  const start = Date.now() - n * 1000;
  const appends: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const device = `d${i % devices}`;
    const data = { edge, device, ts: new Date(start + i * 1000).toISOString(), seq: i, temperature: 20 + Math.sin(i / 50) * 3, humidity: 40 + (i % 7) };
    appends.push(writer.append(subjects.reading(edge, device), createEvent({ type: "tide.reading.recorded.v1", data }, { source: `tide://edge-${edge}/test` })));
  }
  await Promise.all(appends);
}
