import type { JetStreamClient } from "nats";
import { createEvent, readingRecorded, subjects, type ReadingData, type TideEvent } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { isoTimeOf } from "../src/iso-time.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import { pump } from "./measure.ts";

/** Devices the benchmark readings come from. */
export const DEVICES = 100;
/** Appends (or raw publishes) awaiting their ack at once, on both sides of the ingest ratio. */
export const WINDOW = 512;

const EPOCH = Date.parse("2025-01-01T00:00:00.000Z");

export const deviceOf = (i: number) => `dev-${String(i % DEVICES).padStart(3, "0")}`;

/** The i-th benchmark reading; measured now unless `fixedTime`, then at a time derived from i (reproducible rows). */
export function readingAt(edge: string, i: number, fixedTime = false): ReadingData {
  // As ingest stamps a reading that came without a time (edge-runtime/ingest/parse-reading.ts).
  const ts = isoTimeOf(fixedTime ? EPOCH + i * 10 : Date.now());
  return { edge, device: deviceOf(i), ts, seq: i, temperature: 15 + ((i * 7) % 200) / 10, humidity: 30 + ((i * 13) % 500) / 10 };
}

/** The i-th reading event with fixed time and id: the same rows every time, for stream fills and in-memory copies of them. */
export function fixedReadingEvent(edge: string, i: number): TideEvent<"tide.reading.recorded.v1"> {
  const data = readingAt(edge, i, true);
  return createEvent({ type: readingRecorded.type, data }, { source: `tide://${edgeDomain(edge)}/bench`, id: `bench-${edge}-${i}`, time: data.ts });
}

/** Append readings [from, from + n) to the edge's READINGS through the event store (as ingest writes them). Not timed by callers. */
export async function fillReadings(js: JetStreamClient, edge: string, n: number, from = 0): Promise<void> {
  const writer = createEventWriter(js, { maxInFlight: WINDOW });
  await pump(n, WINDOW, (i) => {
    const event = fixedReadingEvent(edge, from + i);
    return writer.append(subjects.reading(edge, event.data.device), event);
  });
}
