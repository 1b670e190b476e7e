import { z } from "zod";
import { DEVICE_ID_PATTERN, DeviceId, EDGE_ID_PATTERN, EdgeId } from "../ids.ts";
import { defineEvent, ISO_TIME_PATTERN, isoTime, nonNegativeInt, positiveInt } from "./define.ts";

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

const READING_KEYS = new Set(["edge", "device", "ts", "seq", "temperature", "humidity"]);
const within = (x: unknown, limits: { min: number; max: number }) => typeof x === "number" && x >= limits.min && x <= limits.max;

/**
 * `ReadingData`'s checks written out, for the hottest event type (every
 * reading is validated on append and again on every read): true only for a
 * plain object with no key the schema would strip that passes every check.
 * Anything else goes to the schema, which gives the issues.
 * `reading.unit.spec.ts` holds it to the schema on valid readings and on every
 * kind of mutation of them.
 */
export function isPlainReading(x: unknown): x is ReadingData {
  if (typeof x !== "object" || x === null || Object.getPrototypeOf(x) !== Object.prototype || ISO_TIME_PATTERN === undefined) return false;
  const r = x as Record<string, unknown>;
  let keys = 0;
  for (const key in r) {
    if (!READING_KEYS.has(key)) return false;
    keys++;
  }
  const { edge, device, ts, seq, temperature, humidity } = r;
  return (
    keys === (seq === undefined ? 5 : 6) &&
    typeof edge === "string" &&
    EDGE_ID_PATTERN.test(edge) &&
    edge !== "cloud" &&
    typeof device === "string" &&
    DEVICE_ID_PATTERN.test(device) &&
    typeof ts === "string" &&
    ISO_TIME_PATTERN.test(ts) &&
    (seq === undefined || (Number.isSafeInteger(seq) && (seq as number) >= 0)) &&
    within(temperature, READING_LIMITS.temperature) &&
    within(humidity, READING_LIMITS.humidity)
  );
}

export const readingRecorded = defineEvent("tide.reading.recorded.v1", ReadingData, isPlainReading);

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
