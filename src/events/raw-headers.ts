import { CE, type EnvelopeAttributes } from "./envelope.ts";

// nats.js decodes header blocks with a default TextDecoder too (UTF-8, bad bytes replaced): values read the same.
const decoder = new TextDecoder();
const STATUS_LINE = "NATS/1.0\r\n";
/** A header key nats.js accepts: printable ASCII (33-126) other than ':'. */
const VALID_KEY = /^[!-9;-~]+$/;

/**
 * `s.slice(start, end).trim()`, as nats.js reads a value, without the second
 * string when there is nothing to trim beyond the space after the colon.
 */
function valueAt(s: string, start: number, end: number): string {
  if (start < end && s.charCodeAt(start) === 32) start++;
  if (start === end) return "";
  const first = s.charCodeAt(start);
  const last = s.charCodeAt(end - 1);
  // Printable ASCII is never whitespace; anything else is left to trim (which knows every Unicode space).
  if (first > 32 && first < 127 && last > 32 && last < 127) return s.slice(start, end);
  return s.slice(start, end).trim();
}

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
  return parseEnvelopeHeaderText(decoder.decode(block));
}

/** `parseEnvelopeHeaders` of a header block already decoded to text (as nats.js decodes it). */
export function parseEnvelopeHeaderText(s: string): EnvelopeAttributes | undefined {
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
          specversion ??= valueAt(s, colon + 1, eol);
          break;
        case CE.id:
          id ??= valueAt(s, colon + 1, eol);
          break;
        case CE.type:
          type ??= valueAt(s, colon + 1, eol);
          break;
        case CE.source:
          source ??= valueAt(s, colon + 1, eol);
          break;
        case CE.time:
          time ??= valueAt(s, colon + 1, eol);
          break;
        case CE.contentType:
          contentType ??= valueAt(s, colon + 1, eol);
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
