import type { MsgHdrs } from "nats";
import { z } from "zod";
import type { Rejection } from "../../src/dead-letter/dead-letter.ts";
import { CE, CE_SPEC_VERSION, CONTENT_TYPE, formatIssues, isKnownType, readingRecorded, type ReadingData } from "../../src/events/index.ts";
import { DeviceId, deterministicId, newEventId, type EdgeId } from "../../src/ids.ts";
import { isoTimeOf } from "../../src/iso-time.ts";

/** Largest reading payload accepted; a climate reading is ~100 bytes. */
export const MAX_READING_BYTES = 4096;

/**
 * What a device sends: the measurement, optionally its own id, device id,
 * timestamp (ISO 8601 or epoch milliseconds) and counter. Unknown fields are
 * refused so a typo never passes as a reading.
 */
export const DevicePayload = z.strictObject({
  id: z.string().min(1).max(64).optional(),
  device: z.string().optional(),
  ts: z.union([z.iso.datetime({ offset: true }), z.number().int().positive().max(8.64e15)]).optional(),
  seq: z.number().int().nonnegative().optional(),
  temperature: z.number(),
  humidity: z.number(),
});

export type ParsedReading = { success: true; id: string; reading: ReadingData } | ({ success: false } & Rejection);

const decoder = new TextDecoder("utf-8", { fatal: true });

function reject(reason: Rejection["reason"], message: string, issues: string[] = []): ParsedReading {
  return { success: false, reason, message, issues };
}

/**
 * Headers are optional (MQTT devices cannot send any), but a device that sends
 * CloudEvents headers must send a complete, correct set.
 */
function checkHeaders(headers: MsgHdrs | undefined): ParsedReading | undefined {
  if (!headers) return undefined;
  const keys = headers.keys().map((k) => k.toLowerCase());
  const contentType = headers.has(CE.contentType) ? headers.get(CE.contentType) : "";
  if (contentType && !contentType.startsWith(CONTENT_TYPE)) return reject("bad_headers", `content-type must be ${CONTENT_TYPE}, got '${contentType}'`);
  if (!keys.some((k) => k.startsWith("ce-"))) return undefined;
  const missing = [CE.specversion, CE.type, CE.id, CE.source].filter((name) => !headers.has(name) || headers.get(name) === "");
  if (missing.length) return reject("bad_headers", `incomplete CloudEvents headers: missing ${missing.join(", ")}`);
  if (headers.get(CE.specversion) !== CE_SPEC_VERSION) return reject("bad_headers", `ce-specversion must be ${CE_SPEC_VERSION}, got '${headers.get(CE.specversion)}'`);
  const type = headers.get(CE.type);
  if (type !== readingRecorded.type) {
    return reject("unknown_type", isKnownType(type) ? `${type} is not accepted on a reading subject` : `unknown event type '${type}'`);
  }
  return undefined;
}

/** Turn the bytes a device sent into a validated reading, or say exactly why not. */
export function parseReading(edge: EdgeId, subject: string, headers: MsgHdrs | undefined, data: Uint8Array): ParsedReading {
  if (data.length > MAX_READING_BYTES) return reject("oversize", `payload is ${data.length} bytes; a reading may have at most ${MAX_READING_BYTES}`);
  const tokens = subject.split(".");
  const subjectDevice = tokens[3];
  if (tokens.length !== 4 || !subjectDevice || !DeviceId.safeParse(subjectDevice).success) {
    return reject("bad_subject", `'${subject}' is not tide.ingest.${edge}.<device> with a valid device id`);
  }
  const badHeaders = checkHeaders(headers);
  if (badHeaders) return badHeaders;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (error) {
    return reject("not_json", `payload is not JSON: ${(error as Error).message}`);
  }
  const payload = DevicePayload.safeParse(json);
  if (!payload.success) return reject("schema", "payload is not a reading", formatIssues(payload.error));
  const p = payload.data;
  if (p.device !== undefined && p.device !== subjectDevice) {
    return reject("device_mismatch", `payload says device '${p.device}' but it was published on the subject of '${subjectDevice}'`);
  }
  const ts = p.ts === undefined ? isoTimeOf(Date.now()) : new Date(p.ts).toISOString();
  const candidate = { edge, device: subjectDevice, ts, temperature: p.temperature, humidity: p.humidity, ...(p.seq === undefined ? {} : { seq: p.seq }) };
  const reading = readingRecorded.data.safeParse(candidate);
  if (!reading.success) return reject("schema", "reading out of range or invalid", formatIssues(reading.error));
  const headerId = headers?.has(CE.id) ? headers.get(CE.id) : undefined;
  // A device that retries the same measurement gets the same id, so JetStream stores it once.
  const id = headerId || p.id || (p.ts !== undefined ? deterministicId(edge, subjectDevice, ts, String(p.seq ?? "")) : newEventId());
  return { success: true, id, reading: reading.data };
}
