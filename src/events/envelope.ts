import { headers as natsHeaders, type MsgHdrs } from "nats";
import { newEventId } from "../ids.ts";
import { parseEventBody, type EventMetadata, type TideEvent, type TideEventBody } from "./catalogue.ts";

/**
 * The CloudEvents NATS protocol binding, binary mode: attributes are `ce-*`
 * headers, the data is the JSON body. `Nats-Msg-Id` carries the event id so
 * JetStream deduplicates a retried publish.
 */
export const CE = {
  specversion: "ce-specversion",
  id: "ce-id",
  type: "ce-type",
  source: "ce-source",
  time: "ce-time",
  subject: "ce-subject",
  contentType: "content-type",
  msgId: "Nats-Msg-Id",
} as const;

export const CE_SPEC_VERSION = "1.0";
export const CONTENT_TYPE = "application/json";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Give an event body its id, source and time. */
export function createEvent<E extends TideEventBody>(body: E, meta: { source: string; id?: string; time?: string }): E & { metadata: EventMetadata } {
  return { ...body, metadata: { id: meta.id ?? newEventId(), source: meta.source, time: meta.time ?? new Date().toISOString() } };
}

export interface EncodedEvent {
  headers: MsgHdrs;
  data: Uint8Array;
}

export function encodeEvent(event: TideEvent): EncodedEvent {
  // `append`, not `set`: the headers are new, and `set` first scans them all for the key to delete (a hot path: every append).
  const h = natsHeaders();
  h.append(CE.specversion, CE_SPEC_VERSION);
  h.append(CE.id, event.metadata.id);
  h.append(CE.type, event.type);
  h.append(CE.source, event.metadata.source);
  h.append(CE.time, event.metadata.time);
  h.append(CE.contentType, CONTENT_TYPE);
  h.append(CE.msgId, event.metadata.id);
  return { headers: h, data: encoder.encode(JSON.stringify(event.data)) };
}

export type DecodeFailure = {
  success: false;
  reason: "not_json" | "schema" | "unknown_type" | "bad_headers";
  message: string;
  issues: string[];
};
export type DecodeResult = { success: true; event: TideEvent } | DecodeFailure;

function fail(reason: DecodeFailure["reason"], message: string, issues: string[] = []): DecodeFailure {
  return { success: false, reason, message, issues };
}

/** Read a stored event back: headers must be a complete CloudEvents envelope and the body must pass its schema. */
export function decodeEvent(headers: MsgHdrs | undefined, data: Uint8Array): DecodeResult {
  if (!headers) return fail("bad_headers", "missing CloudEvents headers");
  // Each header read once: every MsgHdrs lookup scans all keys (a hot path: every event read). `get` gives "" when absent.
  const specversion = headers.get(CE.specversion);
  const id = headers.get(CE.id);
  const type = headers.get(CE.type);
  const source = headers.get(CE.source);
  const time = headers.get(CE.time);
  if (!specversion || !id || !type || !source || !time) {
    const missing = [CE.specversion, CE.id, CE.type, CE.source, CE.time].filter((name) => headers.get(name) === "");
    return fail("bad_headers", `missing header(s): ${missing.join(", ")}`);
  }
  if (specversion !== CE_SPEC_VERSION) {
    return fail("bad_headers", `${CE.specversion} must be ${CE_SPEC_VERSION}, got '${specversion}'`);
  }
  const contentType = headers.get(CE.contentType);
  if (contentType !== "" && contentType !== CONTENT_TYPE) {
    return fail("bad_headers", `${CE.contentType} must be ${CONTENT_TYPE}, got '${contentType}'`);
  }
  if (Number.isNaN(Date.parse(time))) return fail("bad_headers", `${CE.time} is not a time: '${time}'`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (error) {
    return fail("not_json", `body is not JSON: ${(error as Error).message}`);
  }
  const parsed = parseEventBody(type, json);
  if (!parsed.success) {
    return fail(parsed.reason, parsed.reason === "unknown_type" ? parsed.issues[0]! : `${type} failed its schema`, parsed.issues);
  }
  return { success: true, event: { ...parsed.event, metadata: { id, source, time } } as TideEvent };
}

/** Headers as a plain record, for dead letters and JSON output. */
export function headersToRecord(headers: MsgHdrs | undefined): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  if (!headers) return record;
  for (const key of headers.keys()) record[key] = headers.values(key);
  return record;
}
