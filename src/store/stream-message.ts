import type { Msg, MsgHdrs } from "nats";

/** What a stream message is made of: a core NATS message, or the parts of one a message get returned. */
export type CoreMessage = Pick<Msg, "subject" | "headers" | "data">;

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
    /** The core message: raw bytes, headers and body (or, for a message get, its subject, headers and body). */
    readonly msg: CoreMessage,
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
  const info: AckInfo = { seq: 0, deliverySeq: 0, storedAtMs: 0, storedAtSubMs: 0, pending: 0 };
  return readAckSubject(bytes, info) ? info : undefined;
}

/**
 * `parseAckSubject` into an object the caller keeps (no allocation per
 * message on the read path); false, leaving `into` in any state, when the
 * bytes are not an ack subject.
 */
export function readAckSubject(bytes: Uint8Array, into: AckInfo): boolean {
  const n = bytes.length;
  // "$JS.ACK."
  if (n < 8 || bytes[0] !== 0x24 || bytes[1] !== 0x4a || bytes[2] !== 0x53 || bytes[3] !== DOT || bytes[4] !== 0x41 || bytes[5] !== 0x43 || bytes[6] !== 0x4b || bytes[7] !== DOT) {
    return false;
  }
  // One pass from the end: every dot counted, the last five kept (l1 the last one).
  let count = 0;
  let l1 = 0;
  let l2 = 0;
  let l3 = 0;
  let l4 = 0;
  let l5 = 0;
  for (let i = n - 1; i >= 8; i--) {
    if (bytes[i] !== DOT) continue;
    count++;
    if (count === 1) l1 = i;
    else if (count === 2) l2 = i;
    else if (count === 3) l3 = i;
    else if (count === 4) l4 = i;
    else if (count === 5) l5 = i;
  }
  let end: number;
  let pendingDot: number;
  let timeDot: number;
  let dseqDot: number;
  let sseqDot: number;
  // Dots after "$JS.ACK.": 6 in the 9-token form (...<delivered>.<sseq>.<dseq>.<ts>.<pending>), 9 in the 12-token one
  // (...<pending>.<token>). A stream or consumer name has no dot, so the count says which.
  if (count === 6) {
    end = n;
    pendingDot = l1;
    timeDot = l2;
    dseqDot = l3;
    sseqDot = l4;
  } else if (count === 9) {
    end = l1;
    pendingDot = l2;
    timeDot = l3;
    dseqDot = l4;
    sseqDot = l5;
  } else return false;
  const pending = integerAt(bytes, pendingDot + 1, end);
  const storedAtMs = millisAt(bytes, timeDot + 1, pendingDot);
  const storedAtSubMs = subMillisAt(bytes, timeDot + 1, pendingDot);
  const deliverySeq = integerAt(bytes, dseqDot + 1, timeDot);
  const seq = integerAt(bytes, sseqDot + 1, dseqDot);
  if (Number.isNaN(pending) || Number.isNaN(storedAtMs) || Number.isNaN(storedAtSubMs) || Number.isNaN(deliverySeq) || Number.isNaN(seq)) return false;
  into.seq = seq;
  into.deliverySeq = deliverySeq;
  into.storedAtMs = storedAtMs;
  into.storedAtSubMs = storedAtSubMs;
  into.pending = pending;
  return true;
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
