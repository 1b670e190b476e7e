import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN } from "../ids.ts";
import { forgedOrigin } from "../store/source-origin.ts";
import { readStream } from "../store/read-stream.ts";
import type { TrainingReading } from "./dataset.ts";

/** Which cloud READINGS a run reads: a time range, or an exact seq range (to rebuild a recorded dataset). */
export interface ReadingRange {
  since?: Date;
  until?: Date;
  fromSeq?: number;
  toSeq?: number;
  /** Keep only the newest this many readings of the range. */
  maxReadings: number;
}

/** What a range read gave. */
export interface ReadingsRead {
  readings: TrainingReading[];
  /** Stored messages on reading subjects that were not valid readings (never expected: appends validate). */
  invalid: number;
}

/** Every edge's readings routed up, as the cloud READINGS holds them (summaries and stats are not training data). */
export const READINGS_SUBJECT = "tide.reading.>";

/**
 * Read the readings of a range from the cloud READINGS, in stream order.
 * Reading the seq range of a recorded run (`fromSeq`..`toSeq`) gives exactly
 * the readings it trained on, for as long as the stream keeps them.
 */
export async function readTrainingReadings(nc: NatsConnection, range: ReadingRange): Promise<ReadingsRead> {
  const { since, until, fromSeq, toSeq, maxReadings } = range;
  // A ring of the newest `maxReadings`: a long range never holds more than that in memory.
  const ring: TrainingReading[] = new Array(maxReadings);
  let count = 0;
  let invalid = 0;
  for await (const stored of readStream(nc, {
    stream: "READINGS",
    domain: CLOUD_DOMAIN,
    subject: READINGS_SUBJECT,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(fromSeq ? { fromSeq } : {}),
    ...(toSeq ? { toSeq } : {}),
    onInvalid: () => void invalid++,
    // Readings under one edge's subjects that another edge's UPLINK delivered are not trained on.
    refuse: forgedOrigin,
    onRefused: () => void invalid++,
  })) {
    const { event } = stored;
    if (event.type !== "tide.reading.recorded.v1") continue;
    const { edge, device, temperature, humidity } = event.data;
    ring[count % maxReadings] = { seq: stored.seq, edge, device, temperature, humidity };
    count++;
  }
  const kept = Math.min(count, maxReadings);
  const start = count - kept;
  const readings = Array.from({ length: kept }, (_, i) => ring[(start + i) % maxReadings]!);
  return { readings, invalid };
}
