import { z } from "zod";
import { DeviceId, EdgeId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt, positiveInt } from "./define.ts";

/** Physical limits of the climate sensors Tide ships with; outside them a value is a fault, not a reading. */
export const READING_LIMITS = {
  temperature: { min: -60, max: 125 },
  humidity: { min: 0, max: 100 },
} as const;

export const ReadingData = z.object({
  edge: EdgeId,
  device: DeviceId,
  /** When the device measured it (device clock). */
  ts: isoTime(),
  /** The device's own counter, when it keeps one. */
  seq: nonNegativeInt().optional(),
  temperature: z.number().min(READING_LIMITS.temperature.min).max(READING_LIMITS.temperature.max),
  humidity: z.number().min(READING_LIMITS.humidity.min).max(READING_LIMITS.humidity.max),
});
export type ReadingData = z.infer<typeof ReadingData>;

export const readingRecorded = defineEvent("tide.reading.recorded.v1", ReadingData);

const Stat = z.object({ mean: z.number(), min: z.number(), max: z.number() });

export const summaryRecorded = defineEvent(
  "tide.summary.recorded.v1",
  z.object({
    edge: EdgeId,
    device: DeviceId,
    windowStart: isoTime(),
    windowEnd: isoTime(),
    count: positiveInt(),
    temperature: Stat,
    humidity: Stat,
    /** Edge READINGS sequences the window covers. */
    fromSeq: positiveInt(),
    toSeq: positiveInt(),
  }),
);
