import type { Msg, MsgHdrs } from "nats";

/**
 * A message a stream delivered to one of our pull consumers: the core NATS
 * message and what its JetStream ack subject says about it. The ack subject
 * (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or
 * the longer form with domain and account hash and a trailing token) is read
 * once, from its bytes, when the message arrives; subject, headers and body
 * are read from the core message only when asked for.
 */
export class StreamMessage {
  constructor(
    /** The core message: raw bytes, headers and body. */
    readonly msg: Msg,
    /** Stream sequence. */
    readonly seq: number,
    /** The consumer's delivery sequence (1, 2, 3... without gaps for one consumer). */
    readonly deliverySeq: number,
    /** When the stream stored it, milliseconds since the epoch. */
    readonly storedAtMs: number,
    /** Messages after this one that match the consumer's filter, when it was delivered. */
    readonly pending: number,
    /** Nanoseconds within that millisecond. */
    readonly storedAtSubMs: number,
  ) {}

  /** When the stream stored it, nanoseconds since the epoch (a double: exact to about 256 ns). */
  get storedAtNanos(): number {
    return this.storedAtMs * 1_000_000 + this.storedAtSubMs;
  }

  get subject(): string {
    return this.msg.subject;
  }

  get headers(): MsgHdrs | undefined {
    return this.msg.headers;
  }

  get data(): Uint8Array {
    return this.msg.data;
  }
}

/** What a JetStream ack subject says about the message it came with. */
export interface AckInfo {
  seq: number;
  deliverySeq: number;
  storedAtMs: number;
  storedAtSubMs: number;
  pending: number;
}

const DOT = 0x2e;
const ZERO = 0x30;

/** The non-negative integer in bytes [from, to): NaN unless every byte is a digit and there is at least one. */
function integerAt(bytes: Uint8Array, from: number, to: number): number {
  if (from >= to) return Number.NaN;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - ZERO;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The whole milliseconds of a nanosecond timestamp in bytes [from, to),
 * exactly (the nanoseconds themselves, 19 digits, are beyond a double's
 * integers); the nanoseconds within the millisecond are the last 6 digits.
 */
function millisAt(bytes: Uint8Array, from: number, to: number): number {
  if (to - from <= 6) return integerAt(bytes, from, to) >= 0 ? 0 : Number.NaN;
  return integerAt(bytes, from, to - 6);
}

function subMillisAt(bytes: Uint8Array, from: number, to: number): number {
  return integerAt(bytes, Math.max(from, to - 6), to);
}

/**
 * Read an ack subject's bytes: stream sequence, delivery sequence, stored
 * time and pending count. `undefined` when it is not an ack subject of
 * either form (9 tokens, or 12 with domain, account hash and a final token).
 */
export function parseAckSubject(bytes: Uint8Array): AckInfo | undefined {
  // "$JS.ACK."
  if (bytes.length < 8 || bytes[0] !== 0x24 || bytes[1] !== 0x4a || bytes[2] !== 0x53 || bytes[3] !== DOT || bytes[4] !== 0x41 || bytes[5] !== 0x43 || bytes[6] !== 0x4b || bytes[7] !== DOT) {
    return undefined;
  }
  // Token boundaries from the end: at most the last 6 dots are needed.
  const dots: number[] = [];
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === DOT) count++;
  const tokens = count + 1;
  if (tokens !== 9 && tokens !== 12) return undefined;
  // The numeric tokens end before the last token in the 12-token form.
  const skip = tokens === 12 ? 1 : 0;
  for (let i = bytes.length - 1; i >= 0 && dots.length < 5 + skip; i--) if (bytes[i] === DOT) dots.push(i);
  // dots[skip] precedes pending, dots[skip+1] the time, dots[skip+2] dseq, dots[skip+3] sseq, dots[skip+4] delivered.
  const end = skip ? dots[0]! : bytes.length;
  const pending = integerAt(bytes, dots[skip]! + 1, end);
  const storedAtMs = millisAt(bytes, dots[skip + 1]! + 1, dots[skip]!);
  const storedAtSubMs = subMillisAt(bytes, dots[skip + 1]! + 1, dots[skip]!);
  const deliverySeq = integerAt(bytes, dots[skip + 2]! + 1, dots[skip + 1]!);
  const seq = integerAt(bytes, dots[skip + 3]! + 1, dots[skip + 2]!);
  if (Number.isNaN(pending) || Number.isNaN(storedAtMs) || Number.isNaN(storedAtSubMs) || Number.isNaN(deliverySeq) || Number.isNaN(seq)) return undefined;
  return { seq, deliverySeq, storedAtMs, storedAtSubMs, pending };
}

/** What nats.js 2.29 keeps inside a core message (MsgImpl): the parsed protocol line, with the reply subject's bytes. */
interface CoreInternals {
  _msg?: { reply?: unknown };
}

const encoder = new TextEncoder();

/**
 * The reply subject of a core message as bytes, without decoding it to a
 * string (nats.js keeps the bytes it parsed; its `reply` getter decodes them
 * on each first read). Not public API: anything unexpected goes through `reply`.
 */
export function replyBytesOf(msg: Msg): Uint8Array | undefined {
  const reply = (msg as unknown as CoreInternals)._msg?.reply;
  if (reply instanceof Uint8Array) return reply;
  if (reply === undefined && (msg as unknown as CoreInternals)._msg) return undefined;
  return msg.reply ? encoder.encode(msg.reply) : undefined;
}
