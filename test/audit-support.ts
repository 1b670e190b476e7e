import { spawn } from "node:child_process";
import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readStream, type StoredEvent } from "../src/store/read-stream.ts";
import { requestTraining } from "../src/training/run-events.ts";
import { subjects, type TideEvent } from "../src/events/index.ts";
import { storeReading } from "./edge-support.ts";
import { ROOT, TIDE } from "./cli-support.ts";
import { eventually } from "./harness.ts";

export { tide } from "./cli-support.ts";

/** `tide args...` with stdout on an open file descriptor (a device, say), stderr captured. */
export function tideTo(stdout: number, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TIDE_LOG_LEVEL: "warn" };
  delete env.TIDE_DIR;
  const child = spawn(process.execPath, [TIDE, ...args], { cwd: ROOT, env, stdio: ["ignore", stdout, "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Every stored event of a stream (one subject filter, optionally), in order. */
export async function storedEvents(nc: NatsConnection, domain: string, stream: string, subject?: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of readStream(nc, { stream, domain, ...(subject ? { subject } : {}) })) out.push(e);
  return out;
}

type Decision = TideEvent<"tide.decision.made.v1">;

/** The decisions of one device, once there are `count` of them. */
export async function decisionsOf(nc: NatsConnection, edge: string, device: string, count: number): Promise<Decision[]> {
  const stored = await eventually(
    () => storedEvents(nc, edgeDomain(edge), "INFERENCES", subjects.decision(edge, device)),
    (events) => events.length >= count,
    30_000,
    `${count} decision(s) of ${edge}/${device}`,
  );
  return stored.map((s) => s.event as Decision);
}

/** A device's readings, each stored before the next is sent (as a device waiting for its ack). */
export async function sendTemperatures(nc: NatsConnection, edge: string, device: string, temperatures: readonly number[]): Promise<number[]> {
  const seqs: number[] = [];
  for (const t of temperatures) seqs.push(await storeReading(nc, edge, device, t));
  return seqs;
}

/** A device on an edge sending a gentle wave (never near the cooling thresholds) until stopped: inferences for a rollout to observe. */
export function startWave(nc: NatsConnection, edge: string, device: string) {
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      await storeReading(nc, edge, device, 22 + 2 * Math.sin(i / 4)).catch(() => undefined);
      await sleep(40);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Request a forced training run and wait for its end; returns the run id and the published version. */
export async function trainForced(nc: NatsConnection, epochs: number): Promise<{ runId: string; version: string }> {
  const { runId } = await requestTraining(nc.jetstream({ domain: CLOUD_DOMAIN }), { reason: "manual", force: true, epochs }, "tide://cloud/audit-test");
  const events = await eventually(
    () => storedEvents(nc, CLOUD_DOMAIN, "TRAINING", subjects.training(runId)),
    (es) => es.some((e) => e.event.type === "tide.training.completed.v1" || e.event.type === "tide.training.failed.v1"),
    90_000,
    `end of run ${runId}`,
  );
  const end = events.at(-1)!.event;
  if (end.type !== "tide.training.completed.v1" || !end.data.published) throw new Error(`run ${runId} did not publish: ${JSON.stringify(end.data)}`);
  return { runId, version: end.data.version };
}
