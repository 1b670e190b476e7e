import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsConnection } from "nats";
import { subjects } from "../src/events/index.ts";
import { seededRandom } from "../src/model/synthetic.ts";
import type { ReadingPoint } from "../src/model/features.ts";

/** Devices of the edge benchmark; reading i comes from device i % EDGE_DEVICES. */
export const EDGE_DEVICES = 100;
/** Readings per sine period of a device's climate cycle. */
const PERIOD = 48;
const NOISE = 0.1;

/** Wall-clock milliseconds with sub-millisecond resolution (same clock as Date.now(), and as nats-server's timestamps). */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export const benchDevice = (d: number): string => `bench-${String(d).padStart(3, "0")}`;

/**
 * The k-th reading of device d: a slow daily-like cycle around a per-device
 * level (20..27 °C, so some devices cross the cooling thresholds of 26/24 °C
 * and get commands), humidity anti-correlated, seeded noise. The same function
 * feeds the model's training set, the streamed readings and the HTTP calls.
 */
export function benchClimate(d: number, k: number): { temperature: number; humidity: number } {
  const random = seededRandom(d * 1_000_003 + k);
  const phase = (2 * Math.PI * k) / PERIOD + d;
  const temperature = 20 + (d % 8) + 4 * Math.sin(phase) + NOISE * (random() * 2 - 1);
  const humidity = 50 - 10 * Math.sin(phase) + NOISE * 5 * (random() * 2 - 1);
  return { temperature: Math.round(temperature * 1000) / 1000, humidity: Math.round(humidity * 1000) / 1000 };
}

/** Training readings: `perDevice` of each of the first `devices` devices, interleaved as a stream would hold them. */
export function benchTrainingReadings(devices: number, perDevice: number): ReadingPoint[] {
  const out: ReadingPoint[] = [];
  let seq = 0;
  for (let k = 0; k < perDevice; k++) for (let d = 0; d < devices; d++) out.push({ seq: ++seq, device: benchDevice(d), ...benchClimate(d, k) });
  return out;
}

/**
 * What the devices send, one global counter for every reading of the run:
 * reading i is device i % EDGE_DEVICES's ⌊i / EDGE_DEVICES⌋-th. `sentAt[i]` is
 * when it was published (wall ms); the payload carries i as the device counter
 * `seq`, so a stored reading leads back to its send time.
 */
export function createReadingSource(capacity: number) {
  const sentAt = new Float64Array(capacity);
  let next = 0;
  return {
    sentAt,
    get next(): number {
      return next;
    },
    /** Claim the next reading index. */
    take(): number {
      if (next >= capacity) throw new Error(`edge bench: more than ${capacity} readings; raise the capacity`);
      return next++;
    },
  };
}
export type ReadingSource = ReturnType<typeof createReadingSource>;

const encoder = new TextEncoder();

export interface OfferResult {
  /** First reading index of the phase. */
  from: number;
  /** Readings published. */
  sent: number;
  /** Wall ms of the first and last publish. */
  startedAt: number;
  endedAt: number;
  /** Largest gap between two ticks, ms: how late the generator's timer ran. */
  worstTickGapMs: number;
}

/**
 * Open loop at a fixed rate: every tick (a 1 ms timer) publishes the readings
 * that are due by now (rate × elapsed, minus those sent), so a late timer makes
 * a bigger batch, never a lower rate; nothing waits for an answer. Each reading
 * is a plain NATS publish on the device's ingest subject, as a device would send
 * it (JSON `{ ts, seq, temperature, humidity }`). Ends early when `stop()` says so.
 */
export async function offer(nc: NatsConnection, edge: string, source: ReadingSource, rate: number, seconds: number, stop?: () => boolean): Promise<OfferResult> {
  const total = Math.round(rate * seconds);
  const from = source.next;
  const subjectOf = Array.from({ length: EDGE_DEVICES }, (_, d) => subjects.ingest(edge, benchDevice(d)));
  const startedAt = wallMs();
  let sent = 0;
  let lastTick = startedAt;
  let worstTickGapMs = 0;
  while (sent < total && !stop?.()) {
    const now = wallMs();
    worstTickGapMs = Math.max(worstTickGapMs, now - lastTick);
    lastTick = now;
    const due = Math.min(total, Math.floor(((now - startedAt) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const i = source.take();
      const d = i % EDGE_DEVICES;
      const { temperature, humidity } = benchClimate(d, Math.floor(i / EDGE_DEVICES));
      const at = wallMs();
      source.sentAt[i] = at;
      const body = `{"ts":"${new Date(Math.floor(at)).toISOString()}","seq":${i},"temperature":${temperature},"humidity":${humidity}}`;
      nc.publish(subjectOf[d]!, encoder.encode(body));
    }
    if (sent < total) await sleep(1);
  }
  return { from, sent, startedAt, endedAt: wallMs(), worstTickGapMs };
}

export interface HttpRunResult {
  calls: number;
  failures: number;
  seconds: number;
  latenciesMs: Float64Array;
}

/**
 * The seed's design: each reading sent as one `POST /predict` carrying its
 * device's window (the reading and the 8 before it, what the pipeline feeds the
 * model), over keep-alive connections. `concurrency` callers in a closed loop,
 * each sending its next reading when the answer to the last one arrives (a
 * device waiting for its prediction); runs for `seconds`. Reading i is the
 * same reading as the streamed reading i (`benchClimate`), from `firstReading` on.
 */
export async function httpPredictLoop(url: string, firstReading: number, concurrency: number, seconds: number, window = 9): Promise<HttpRunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL("/predict", url);
  const latencies: number[] = [];
  let failures = 0;
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        target,
        { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = firstReading;
  const caller = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const d = i % EDGE_DEVICES;
      const k = Math.floor(i / EDGE_DEVICES);
      const points = [];
      for (let j = Math.max(0, k - window + 1); j <= k; j++) points.push(benchClimate(d, j));
      const t0 = performance.now();
      try {
        await post(JSON.stringify({ device: benchDevice(d), window: points }));
        latencies.push(performance.now() - t0);
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { calls: latencies.length, failures, seconds: elapsed, latenciesMs: Float64Array.from(latencies) };
}

/** The q-quantile (0..1) of unsorted samples (nearest rank); undefined when there are none. */
export function quantile(samples: ArrayLike<number>, q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
