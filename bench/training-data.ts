import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimulation } from "../edge-runtime/simulator/index.ts";
import { createEvent, readingRecorded, subjects } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import type { TrainingReading } from "../src/training/dataset.ts";
import { countReadingsAfter } from "../src/training/schedule.ts";

/** Training data for the benchmarks: healthy simulated climate devices, a reading every 10 simulated minutes. */
const simulation = (devices: number) => createSimulation({ devices, faulty: 0, anomalyRate: 0, rate: 1, speed: 600, seed: 2025, startMs: Date.parse("2025-03-01T00:00:00Z") });

/** The same readings a stream would hold, in memory (seq = order), for benchmarks that train without NATS. */
export function simulatedTrainingReadings(devices: number, ticks: number, edge = "1"): TrainingReading[] {
  const sim = simulation(devices);
  const out: TrainingReading[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    for (const step of sim.tick()) {
      if (step.kind === "reading") out.push({ seq: out.length + 1, edge, device: step.device, temperature: step.payload.temperature, humidity: step.payload.humidity });
    }
  }
  return out;
}

/**
 * Append the simulated readings to the edge's READINGS routed up (as ingest
 * writes them) and wait until the cloud READINGS has them all. Not timed.
 */
export async function fillCloudReadings(edgeNc: NatsConnection, cloudNc: NatsConnection, edge: string, devices: number, ticks: number): Promise<number> {
  const sim = simulation(devices);
  const writer = createEventWriter(edgeNc.jetstream(), { maxInFlight: 512 });
  const appends: Promise<unknown>[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    for (const step of sim.tick()) {
      if (step.kind !== "reading") continue;
      const data = { edge, device: step.device, ts: step.ts, seq: step.seq, temperature: step.payload.temperature, humidity: step.payload.humidity };
      const event = createEvent({ type: readingRecorded.type, data }, { source: `tide://${edgeDomain(edge)}/bench`, id: `bench-train-${edge}-${step.device}-${step.seq}` });
      appends.push(writer.append(subjects.reading(edge, step.device, "up"), event));
    }
  }
  await Promise.all(appends);
  const expected = appends.length;
  const deadline = Date.now() + 120_000;
  while ((await countReadingsAfter(cloudNc, 0)) < expected) {
    if (Date.now() > deadline) throw new Error(`the cloud READINGS did not get all ${expected} readings within 120 s`);
    await sleep(100);
  }
  return expected;
}
