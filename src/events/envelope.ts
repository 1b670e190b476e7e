import { MsgHdrsImpl, type MsgHdrs } from "nats";
import { newEventId } from "../ids.ts";
import { isoTimeOf } from "../iso-time.ts";
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

const decoder = new TextDecoder();

/** Give an event body its id, source and time. */
export function createEvent<E extends TideEventBody>(body: E, meta: { source: string; id?: string; time?: string }): E & { metadata: EventMetadata } {
  return { ...body, metadata: { id: meta.id ?? newEventId(), source: meta.source, time: meta.time ?? isoTimeOf(Date.now()) } };
}

export interface EncodedEvent {
  headers: MsgHdrs;
  data: Uint8Array;
}

/**
 * A header value nats.js stores as it is: no CR or LF (it refuses those) and
 * nothing it would trim (JS `\s` is exactly what `trim` removes).
 */
const PLAIN_VALUE = /^(?:\S|\S[^\r\n]*\S)$/;

/**
 * Our headers' `encode`: the same bytes as nats.js's (`TextEncoder` over
 * `toString()`), through a Buffer, which for small sizes comes from Node's
 * pool instead of a fresh backing store: nats.js encodes the headers on every
 * publish. Set on each MsgHdrsImpl: a subclass costs more to construct than
 * it saves.
 */
function encodeThroughBuffer(this: MsgHdrsImpl): Uint8Array {
  return Buffer.from(this.toString(), "utf8");
}

export function encodeEvent(event: TideEvent): EncodedEvent {
  const { id, source, time } = event.metadata;
  const data = Buffer.from(JSON.stringify(event.data), "utf8");
  let headers: MsgHdrsImpl;
  // A hot path (every append): our keys are constants nats.js accepts, so when every value is already in the form
  // nats.js would store, fill the headers directly (`append` canonicalises each key, scans all keys and tests each value).
  if (PLAIN_VALUE.test(id) && PLAIN_VALUE.test(event.type) && PLAIN_VALUE.test(source) && PLAIN_VALUE.test(time)) {
    headers = MsgHdrsImpl.fromRecord({
      [CE.specversion]: [CE_SPEC_VERSION],
      [CE.id]: [id],
      [CE.type]: [event.type],
      [CE.source]: [source],
      [CE.time]: [time],
      [CE.contentType]: [CONTENT_TYPE],
      [CE.msgId]: [id],
    }) as MsgHdrsImpl;
  } else {
    // Anything else goes through nats.js's checks, which trim it or refuse it as they always have.
    headers = new MsgHdrsImpl();
    headers.append(CE.specversion, CE_SPEC_VERSION);
    headers.append(CE.id, id);
    headers.append(CE.type, event.type);
    headers.append(CE.source, source);
    headers.append(CE.time, time);
    headers.append(CE.contentType, CONTENT_TYPE);
    headers.append(CE.msgId, id);
  }
  headers.encode = encodeThroughBuffer;
  return { headers, data };
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

/**
 * The CloudEvents attributes a reader needs from the headers, each "" when
 * absent (as `MsgHdrs.get` gives it).
 */
export interface EnvelopeAttributes {
  specversion: string;
  id: string;
  type: string;
  source: string;
  time: string;
  contentType: string;
}

/** The envelope attributes of parsed headers; each header read once (every MsgHdrs lookup scans all keys). */
export function attributesOf(headers: MsgHdrs): EnvelopeAttributes {
  return {
    specversion: headers.get(CE.specversion),
    id: headers.get(CE.id),
    type: headers.get(CE.type),
    source: headers.get(CE.source),
    time: headers.get(CE.time),
    contentType: headers.get(CE.contentType),
  };
}

/** Read a stored event back: headers must be a complete CloudEvents envelope and the body must pass its schema. */
export function decodeEvent(headers: MsgHdrs | undefined, data: Uint8Array): DecodeResult {
  return decodeEnvelope(headers && attributesOf(headers), data);
}

/**
 * `decodeEvent` from attributes already read out of the headers (`undefined`:
 * the message had none); the body as bytes, or as the text they decode to.
 */
export function decodeEnvelope(attributes: EnvelopeAttributes | undefined, data: Uint8Array | string): DecodeResult {
  if (!attributes) return fail("bad_headers", "missing CloudEvents headers");
  const { specversion, id, type, source, time, contentType } = attributes;
  if (!specversion || !id || !type || !source || !time) {
    const missing = (["specversion", "id", "type", "source", "time"] as const).filter((name) => attributes[name] === "").map((name) => CE[name]);
    return fail("bad_headers", `missing header(s): ${missing.join(", ")}`);
  }
  if (specversion !== CE_SPEC_VERSION) {
    return fail("bad_headers", `${CE.specversion} must be ${CE_SPEC_VERSION}, got '${specversion}'`);
  }
  if (contentType !== "" && contentType !== CONTENT_TYPE) {
    return fail("bad_headers", `${CE.contentType} must be ${CONTENT_TYPE}, got '${contentType}'`);
  }
  if (Number.isNaN(Date.parse(time))) return fail("bad_headers", `${CE.time} is not a time: '${time}'`);
  let json: unknown;
  try {
    json = JSON.parse(typeof data === "string" ? data : decoder.decode(data));
  } catch (error) {
    return fail("not_json", `body is not JSON: ${(error as Error).message}`);
  }
  const parsed = parseEventBody(type, json);
  if (!parsed.success) {
    return fail(parsed.reason, parsed.reason === "unknown_type" ? parsed.issues[0]! : `${type} failed its schema`, parsed.issues);
  }
  return { success: true, event: { type: parsed.event.type, data: parsed.event.data, metadata: { id, source, time } } as TideEvent };
}

/** Headers as a plain record, for dead letters and JSON output. */
export function headersToRecord(headers: MsgHdrs | undefined): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  if (!headers) return record;
  for (const key of headers.keys()) record[key] = headers.values(key);
  return record;
}
