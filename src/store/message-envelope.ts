import { isAscii } from "node:buffer";
import type { MsgHdrs } from "nats";
import { attributesOf, decodeEnvelope, type DecodeResult, type EnvelopeAttributes } from "../events/envelope.ts";
import { parseEnvelopeHeaders, parseEnvelopeHeaderText } from "../events/raw-headers.ts";
import type { CoreMessage } from "./stream-message.ts";

/**
 * A message read from a stream: a StreamMessage of ours or a nats.js JsMsg,
 * both holding the core message they came in as `msg` (a JsMsg does not say
 * so in its type; it is looked for, never relied on).
 */
export interface DeliveredMessage {
  readonly msg?: CoreMessage;
  readonly headers: MsgHdrs | undefined;
  readonly data: Uint8Array;
}

/**
 * What nats.js 2.29 keeps inside a core message (`msg`, a MsgImpl): the bytes as received (`_rdata`: header block then body), the header
 * block's length (`_msg.hdr`, -1 without headers) and the MsgHdrs once
 * something asked for `headers` (`_headers`). Not public API: checked on
 * every use, and anything unexpected falls back to `msg.headers` and `msg.data`.
 */
interface CoreMessageInternals {
  _rdata?: unknown;
  _msg?: { hdr?: unknown };
  _headers?: unknown;
}

/** The raw bytes and header length of a message whose headers nats.js has not parsed; undefined when not that. */
function rawOf(msg: DeliveredMessage): { bytes: Uint8Array; hdr: number } | undefined {
  const core = (msg as unknown as { msg?: CoreMessageInternals }).msg;
  if (!core || core._headers !== undefined || !(core._rdata instanceof Uint8Array)) return undefined;
  const hdr = core._msg?.hdr;
  if (typeof hdr !== "number" || hdr > core._rdata.length) return undefined;
  return { bytes: core._rdata, hdr };
}

/**
 * One header of a stored message (its first value), read from the raw header
 * bytes when nats.js has not parsed them (no MsgHdrs made), else through
 * `msg.headers`. `undefined` when the message does not have it.
 */
export function headerValueOf(msg: DeliveredMessage, name: string): string | undefined {
  const raw = rawOf(msg);
  if (raw) {
    if (raw.hdr <= 0) return undefined;
    const text = latin1Slice.call(raw.bytes, 0, raw.hdr);
    const at = text.indexOf(`\r\n${name}:`);
    if (at < 0) return undefined;
    const from = at + name.length + 3;
    return text.slice(from, text.indexOf("\r\n", from)).trim();
  }
  const value = msg.headers?.get(name);
  return value ? value : undefined;
}

/**
 * The CloudEvents attributes of a stored message, read from its raw header
 * bytes when nats.js has not parsed them yet (`parseEnvelopeHeaders`), else
 * through `msg.headers`. `undefined` when the message has no headers.
 */
export function envelopeOf(msg: DeliveredMessage): EnvelopeAttributes | undefined {
  const raw = rawOf(msg);
  if (raw?.hdr === -1) return undefined;
  if (raw && raw.hdr > 0) {
    const attributes = parseEnvelopeHeaders(raw.bytes.subarray(0, raw.hdr));
    if (attributes) return attributes;
  }
  const headers = msg.headers;
  return headers && attributesOf(headers);
}

// For ASCII, the text TextDecoder gives is exactly the bytes as Latin-1: read both parts of such a message straight
// from its bytes (one check, no subarrays, no decoder calls). Our envelopes and JSON bodies are ASCII in practice.
const { latin1Slice } = Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string };

/** Decode and validate a stored message (`decodeEvent`), reading its headers from the raw bytes when it can. */
export function decodeStored(msg: DeliveredMessage): DecodeResult {
  const raw = rawOf(msg);
  if (raw && raw.hdr > 0 && isAscii(raw.bytes)) {
    const attributes = parseEnvelopeHeaderText(latin1Slice.call(raw.bytes, 0, raw.hdr));
    if (attributes) return decodeEnvelope(attributes, latin1Slice.call(raw.bytes, raw.hdr, raw.bytes.length));
  }
  return decodeEnvelope(envelopeOf(msg), msg.data);
}
