import type { JsMsg } from "nats";
import { attributesOf, type EnvelopeAttributes } from "../events/envelope.ts";
import { parseEnvelopeHeaders } from "../events/raw-headers.ts";

/**
 * What nats.js 2.29 keeps inside a JsMsg: the core message (`msg`, a MsgImpl)
 * with the bytes as received (`_rdata`: header block then body), the header
 * block's length (`_msg.hdr`, -1 without headers) and the MsgHdrs once
 * something asked for `headers` (`_headers`). Not public API: checked on
 * every use, and anything unexpected falls back to `msg.headers`.
 */
interface CoreMessageInternals {
  _rdata?: unknown;
  _msg?: { hdr?: unknown };
  _headers?: unknown;
}

/**
 * The CloudEvents attributes of a stored message, read from its raw header
 * bytes when nats.js has not parsed them yet (`parseEnvelopeHeaders`), else
 * through `msg.headers`. `undefined` when the message has no headers.
 */
export function envelopeOf(msg: JsMsg): EnvelopeAttributes | undefined {
  const core = (msg as unknown as { msg?: CoreMessageInternals }).msg;
  if (core && core._headers === undefined && core._rdata instanceof Uint8Array && typeof core._msg?.hdr === "number") {
    const hdr = core._msg.hdr;
    if (hdr === -1) return undefined;
    if (hdr > 0 && hdr <= core._rdata.length) {
      const attributes = parseEnvelopeHeaders(core._rdata.subarray(0, hdr));
      if (attributes) return attributes;
    }
  }
  const headers = msg.headers;
  return headers && attributesOf(headers);
}
