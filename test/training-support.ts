import type { NatsConnection } from "nats";
import { createSimulation } from "../edge-runtime/simulator/index.ts";
import { createEvent, readingRecorded, subjects, type EventData, type EventType, type ReadingData, type TideEvent } from "../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readStream } from "../src/store/read-stream.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import { countReadingsAfter } from "../src/training/schedule.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually } from "./harness.ts";

/** Simulator settings for training data: healthy devices, a reading every 10 simulated minutes (the daily cycle shows). */
export const TRAINING_SIMULATION = { devices: 4, faulty: 0, anomalyRate: 0, rate: 1, speed: 600, seed: 11, startMs: Date.parse("2025-03-01T00:00:00Z") } as const;

/** Apply the edge's and the cloud's streams, so readings appended on the edge reach the cloud READINGS. */
export async function givenStreams(edgeNc: NatsConnection, cloudNc: NatsConnection, edge: string): Promise<void> {
  const context = { edge, edges: [edge] };
  await applyStreams({ nc: edgeNc, place: "edge", domain: edgeDomain(edge), context });
  await applyStreams({ nc: cloudNc, place: "cloud", domain: CLOUD_DOMAIN, context });
}

/** Append readings to the edge's READINGS routed up, as ingest would; wait until the cloud READINGS holds `expectTotal` readings. */
export async function givenReadings(edgeNc: NatsConnection, cloudNc: NatsConnection, readings: readonly ReadingData[], expectTotal: number): Promise<void> {
  const writer = createEventWriter(edgeNc.jetstream(), { maxInFlight: 256 });
  await Promise.all(
    readings.map((data) => {
      const event = createEvent({ type: readingRecorded.type, data }, { source: `tide://${edgeDomain(data.edge)}/test`, id: `test-${data.edge}-${data.device}-${data.ts}-${data.seq ?? 0}` });
      return writer.append(subjects.reading(data.edge, data.device, "up"), event);
    }),
  );
  await eventually(() => countReadingsAfter(cloudNc, 0), (n) => n >= expectTotal, 30_000, `${expectTotal} readings in the cloud READINGS`);
}

/** The readings of ticks [from, from + ticks) of the training simulation, for edge `edge`. */
export function simulatedReadings(edge: string, ticks: number, from = 0): ReadingData[] {
  const simulation = createSimulation(TRAINING_SIMULATION);
  const out: ReadingData[] = [];
  for (let tick = 0; tick < from + ticks; tick++) {
    for (const step of simulation.tick()) {
      if (tick >= from && step.kind === "reading") out.push({ edge, device: step.device, ts: step.ts, seq: step.seq, temperature: step.payload.temperature, humidity: step.payload.humidity });
    }
  }
  return out;
}

/** `ticks` ticks of the simulated devices (from tick `from`) into the cloud READINGS, through the edge. */
export async function givenSimulatedReadings(edgeNc: NatsConnection, cloudNc: NatsConnection, edge: string, ticks: number, expectTotal: number, from = 0): Promise<void> {
  await givenReadings(edgeNc, cloudNc, simulatedReadings(edge, ticks, from), expectTotal);
}

/** Every event of one training run, in order. */
export async function runEvents(nc: NatsConnection, runId: string): Promise<TideEvent[]> {
  const out: TideEvent[] = [];
  for await (const stored of readStream(nc, { stream: "TRAINING", domain: CLOUD_DOMAIN, subject: subjects.training(runId) })) out.push(stored.event);
  return out;
}

const TERMINAL = new Set(["tide.training.completed.v1", "tide.training.failed.v1"]);

/** Wait until the run has ended (completed or failed) and return all its events. */
export async function runEnded(nc: NatsConnection, runId: string, timeoutMs = 60_000): Promise<TideEvent[]> {
  return eventually(() => runEvents(nc, runId), (events) => events.some((e) => TERMINAL.has(e.type)), timeoutMs, `end of run ${runId}`);
}

/** The events of one model version on MODELS. */
export async function modelEvents(nc: NatsConnection, version: string): Promise<TideEvent[]> {
  const out: TideEvent[] = [];
  for await (const stored of readStream(nc, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: subjects.model(version) })) out.push(stored.event);
  return out;
}

/** The data of the first event of `type` in `events`; fails the test when there is none. */
export function dataOf<T extends EventType>(events: readonly TideEvent[], type: T): EventData<T> {
  const found = events.find((e) => e.type === type);
  if (!found) throw new Error(`no ${type} among ${events.map((e) => e.type).join(", ") || "no events"}`);
  return found.data as EventData<T>;
}
