import type { Measurement } from "./climate.ts";

/** What a simulated device sends on `tide.ingest.<edge>.<device>`: JSON `{ ts, seq, temperature, humidity }`. */
export interface ReadingPayload extends Measurement {
  /** When the device measured (ISO 8601, simulated clock). */
  ts: string;
  /** The device's own counter; it keeps counting through dropouts, so gaps show. */
  seq: number;
}

/**
 * The ways a faulty sensor garbles its payload. Each is refused by the edge's
 * ingest (`parseReading`) and dead-lettered, with the reason in brackets.
 */
export const BAD_PAYLOAD_VARIANTS = [
  /** Firmware speaking a text protocol: `t=21.50;h=40.2` (not_json). */
  "text_protocol",
  /** A message cut off mid-way (not_json). */
  "truncated",
  /** A C printf of a failed read: `"temperature": NaN` (not_json). */
  "nan",
  /** A number sent as a string (schema). */
  "string_number",
  /** Humidity missing: the second sensor did not answer (schema). */
  "missing_field",
  /** A field the schema does not know (schema). */
  "unknown_field",
  /** The sensor's error code as a value: -127 °C, "disconnected" (schema, out of range). */
  "error_code",
] as const;
export type BadPayloadVariant = (typeof BAD_PAYLOAD_VARIANTS)[number];

/** The ingest reason each variant is rejected with. */
export const BAD_PAYLOAD_REASON: Record<BadPayloadVariant, "not_json" | "schema"> = {
  text_protocol: "not_json",
  truncated: "not_json",
  nan: "not_json",
  string_number: "schema",
  missing_field: "schema",
  unknown_field: "schema",
  error_code: "schema",
};

/** The JSON of a reading (written out by hand: this runs once per reading; the values are finite numbers). */
export function renderReading(payload: ReadingPayload): string {
  return `{"ts":"${payload.ts}","seq":${payload.seq},"temperature":${payload.temperature},"humidity":${payload.humidity}}`;
}

/** The bytes a faulty sensor sends instead of `payload`. */
export function renderBadPayload(variant: BadPayloadVariant, payload: ReadingPayload): string {
  const { ts, seq, temperature, humidity } = payload;
  switch (variant) {
    case "text_protocol":
      return `t=${temperature.toFixed(2)};h=${humidity.toFixed(1)}`;
    case "truncated": {
      const whole = renderReading(payload);
      return whole.slice(0, Math.floor(whole.length / 2));
    }
    case "nan":
      return `{"ts":"${ts}","seq":${seq},"temperature":NaN,"humidity":${humidity}}`;
    case "string_number":
      return JSON.stringify({ ts, seq, temperature: String(temperature), humidity });
    case "missing_field":
      return JSON.stringify({ ts, seq, temperature });
    case "unknown_field":
      return JSON.stringify({ ts, seq, temperature, humidity, battery: 3.1 });
    case "error_code":
      return JSON.stringify({ ts, seq, temperature: -127, humidity });
    default: {
      const never: never = variant;
      throw new Error(`unknown bad payload variant ${String(never)}`);
    }
  }
}
