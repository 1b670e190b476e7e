import { CE, type EnvelopeAttributes } from "./envelope.ts";

// nats.js decodes header blocks with a default TextDecoder too (UTF-8, bad bytes replaced): values read the same.
const decoder = new TextDecoder();
const STATUS_LINE = "NATS/1.0\r\n";
/** A header key nats.js accepts: printable ASCII (33-126) other than ':'. */
const VALID_KEY = /^[!-9;-~]+$/;

/**
 * Read the CloudEvents attributes straight from a raw NATS header block
 * (`NATS/1.0\r\nkey: value\r\n...`) without building a MsgHdrs: nats.js's
 * parser canonicalises every key and scans all keys on every insert and
 * lookup, which costs more than decoding and validating the event itself.
 *
 * The answer is exactly what `attributesOf(MsgHdrsImpl.decode(block))` gives:
 * exact (case-sensitive) keys, the first value of a repeated key, values
 * trimmed, "" when absent. Whenever the block is anything but a plain header
 * block — a status line (`NATS/1.0 503 ...`), a CR or LF outside a CRLF, a key
 * nats.js refuses (empty, or with a character outside 33-126) — it returns
 * `undefined`, so the caller uses nats.js's parser, which then succeeds or
 * throws exactly as it always has.
 */
export function parseEnvelopeHeaders(block: Uint8Array): EnvelopeAttributes | undefined {
  const s = decoder.decode(block);
  if (!s.startsWith(STATUS_LINE)) return undefined;
  let specversion: string | undefined;
  let id: string | undefined;
  let type: string | undefined;
  let source: string | undefined;
  let time: string | undefined;
  let contentType: string | undefined;
  const end = s.length;
  let pos = STATUS_LINE.length;
  // Lines end at CRLF; any other CR or LF is not a plain block. The next of each is tracked instead of searched per line.
  let nextCr = s.indexOf("\r", pos);
  let nextLf = s.indexOf("\n", pos);
  while (pos < end) {
    let eol: number;
    if (nextCr === -1) {
      if (nextLf !== -1) return undefined;
      eol = end;
    } else {
      if (nextLf !== nextCr + 1) return undefined;
      eol = nextCr;
      nextCr = s.indexOf("\r", eol + 2);
      nextLf = s.indexOf("\n", eol + 2);
    }
    // A line without a colon (an empty one in particular) is skipped, as nats.js skips it.
    const colon = s.indexOf(":", pos);
    if (colon !== -1 && colon < eol) {
      const key = s.slice(pos, colon);
      switch (key) {
        case CE.specversion:
          specversion ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.id:
          id ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.type:
          type ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.source:
          source ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.time:
          time ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.contentType:
          contentType ??= s.slice(colon + 1, eol).trim();
          break;
        case CE.msgId:
          break;
        default:
          if (!VALID_KEY.test(key)) return undefined;
      }
    }
    pos = eol + 2;
  }
  return { specversion: specversion ?? "", id: id ?? "", type: type ?? "", source: source ?? "", time: time ?? "", contentType: contentType ?? "" };
}
