import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import type { TideEvent, EventType } from "../src/events/index.ts";
import { subjects } from "../src/events/subjects.ts";
import { silentLogger } from "../src/log.ts";
import { serializeModel } from "../src/model/artifact.ts";
import { selectBackend } from "../src/model/backend.ts";
import { buildWindows, computeStats } from "../src/model/features.ts";
import { createForecastModel, disposeForecastModel, evaluateForecastModel, trainForecastModel } from "../src/model/forecast-model.ts";
import { syntheticReadings } from "../src/model/synthetic.ts";
import { readStream, type StoredEvent } from "../src/store/read-stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let readingCounter = 0;

/** A device's reading over NATS request/reply on the edge's ingest subject; resolves with ingest's answer (sent once stored). */
export async function sendReading(nc: NatsConnection, edge: string, device: string, temperature: number, humidity = 45): Promise<IngestReply> {
  // A device's own counter: two readings of a device in the same millisecond are two readings, not a retry of one
  // (ingest derives a reading's id from device, time and counter, and stores a repeated id once).
  const payload = { ts: new Date().toISOString(), seq: ++readingCounter, temperature, humidity };
  const reply = await nc.request(subjects.ingest(edge, device), encoder.encode(JSON.stringify(payload)), { timeout: 10_000 });
  return JSON.parse(decoder.decode(reply.data)) as IngestReply;
}

/** Like `sendReading`, but a refusal fails the test; returns the READINGS seq. */
export async function storeReading(nc: NatsConnection, edge: string, device: string, temperature: number, humidity = 45): Promise<number> {
  const reply = await sendReading(nc, edge, device, temperature, humidity);
  if (!reply.ok) throw new Error(`reading of ${device} refused: ${reply.reason} ${reply.message}`);
  return reply.seq;
}

/** Every stored event of `stream` in `domain` (optionally one subject filter), in stream order. */
export async function eventsOf(nc: NatsConnection, domain: string, stream: string, subject?: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const stored of readStream(nc, { stream, domain, ...(subject ? { subject } : {}) })) out.push(stored);
  return out;
}

/** Only the events of one type, narrowed. */
export function ofType<T extends EventType>(events: StoredEvent[], type: T): Array<StoredEvent<TideEvent<T>>> {
  return events.filter((e): e is StoredEvent<TideEvent<T>> => e.event.type === type);
}

/**
 * Trains a deliberately tiny forecast model on synthetic readings (a couple of
 * epochs: fast, not good) and writes its `tide-model/1` artifact into `dir`.
 */
export async function trainTinyModelArtifact(dir: string, version: string, window = 8): Promise<{ file: string; version: string; window: number }> {
  const { tf } = await selectBackend({ logger: silentLogger });
  const readings = syntheticReadings({ devices: ["a", "b", "c", "d"], perDevice: 60, seed: 7 });
  const stats = computeStats(readings);
  const samples = buildWindows(readings, window, stats);
  const model = createForecastModel(tf, { window, hidden: [8], seed: 1 });
  try {
    await trainForecastModel(tf, model, { inputs: samples.inputs, targets: samples.targets, epochs: 2, batchSize: 64 });
    const { residualStd } = evaluateForecastModel(tf, model, samples, stats);
    const bytes = await serializeModel(model, { version, normalisation: stats, window, residualStd });
    const file = join(dir, `${version}.tide-model`);
    writeFileSync(file, bytes);
    return { file, version, window };
  } finally {
    disposeForecastModel(model);
  }
}
