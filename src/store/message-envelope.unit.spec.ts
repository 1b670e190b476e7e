import { headers as natsHeaders, type Msg, type MsgHdrsImpl } from "nats";
import { MsgImpl, Parser } from "nats/lib/nats-base-client/internal_mod.js";
import { describe, expect, it } from "vitest";
import { attributesOf, CE, createEvent, decodeEvent, encodeEvent, type TideEvent } from "../events/index.ts";
import { decodeStored, envelopeOf, headerValueOf } from "./message-envelope.ts";
import { parseAckSubject, replyBytesOf, StreamMessage } from "./stream-message.ts";

const encoder = new TextEncoder();
const REPLY = "$JS.ACK.READINGS.reader.1.7.7.1717243200000000000.0";

/** A stream message as a reader gets it from the wire: nats.js's own protocol parser and MsgImpl, read as our StreamMessage. */
function received(headerBlock: string | undefined, body: string): StreamMessage {
  const events: { msg?: unknown; data?: Uint8Array }[] = [];
  const parser = new Parser({ push: (e) => void events.push(e) });
  const frame =
    headerBlock === undefined
      ? `MSG tide.x 1 ${REPLY} ${encoder.encode(body).length}\r\n${body}\r\n`
      : `HMSG tide.x 1 ${REPLY} ${encoder.encode(headerBlock).length} ${encoder.encode(headerBlock + body).length}\r\n${headerBlock}${body}\r\n`;
  parser.parse(encoder.encode(frame));
  if (events.length !== 1) throw new Error(`parsed ${events.length} messages`);
  const msg = new MsgImpl(events[0]!.msg as never, events[0]!.data!, {} as never) as unknown as Msg;
  const ack = parseAckSubject(replyBytesOf(msg)!)!;
  return new StreamMessage(msg, ack.seq, ack.deliverySeq, ack.storedAtMs, ack.pending, ack.storedAtSubMs);
}

const internalsOf = (m: StreamMessage) => (m as unknown as { msg: { _headers?: unknown } }).msg;

const event = createEvent(
  { type: "tide.reading.recorded.v1", data: { edge: "1", device: "d1", ts: "2024-06-01T12:00:00.000Z", temperature: 21.5, humidity: 40 } },
  { source: "tide://edge-1/ingest", id: "reading-1", time: "2024-06-01T12:00:01.000Z" },
) as TideEvent;
const encoded = encodeEvent(event);
const headerBlock = new TextDecoder().decode((encoded.headers as MsgHdrsImpl).encode());
const body = new TextDecoder().decode(encoded.data);
const expected = { specversion: "1.0", id: "reading-1", type: "tide.reading.recorded.v1", source: "tide://edge-1/ingest", time: "2024-06-01T12:00:01.000Z", contentType: "application/json" };

describe("envelopeOf", () => {
  it("reads the attributes from the raw bytes of a message nats.js received, without having nats.js parse its headers", () => {
    const m = received(headerBlock, body);
    expect(envelopeOf(m)).toEqual(expected);
    expect(internalsOf(m)._headers).toBeUndefined();
    // The message is untouched: its headers and body read as before.
    expect(attributesOf(m.headers!)).toEqual(expected);
    expect(new TextDecoder().decode(m.data)).toBe(body);
  });

  it("gives undefined for a message without headers", () => {
    expect(envelopeOf(received(undefined, body))).toBeUndefined();
  });

  it("uses headers nats.js has already parsed", () => {
    const m = received(headerBlock, body);
    m.headers!.set(CE.id, "changed-after-parse");
    expect(envelopeOf(m)).toEqual({ ...expected, id: "changed-after-parse" });
  });

  it("falls back to nats.js's parser for a block it leaves alone (a status line)", () => {
    const m = received(`NATS/1.0 409 Odd\r\n${CE.id}: x\r\n\r\n`, "");
    expect(envelopeOf(m)).toEqual(attributesOf(m.headers!));
    expect(envelopeOf(m)).toMatchObject({ id: "x", specversion: "" });
  });

  it("falls back to nats.js's parser, and its error, for a key nats.js refuses", () => {
    const m = received(`NATS/1.0\r\nbad key: x\r\n\r\n`, body);
    expect(() => m.headers).toThrow();
    expect(() => envelopeOf(received(`NATS/1.0\r\nbad key: x\r\n\r\n`, body))).toThrow();
  });

  it.each([
    ["no core message", {}],
    ["no raw bytes", { msg: { _msg: { hdr: 10 } } }],
    ["a header length that is not a number", { msg: { _rdata: encoder.encode(headerBlock), _msg: { hdr: "10" } } }],
    ["a header length past the bytes", { msg: { _rdata: encoder.encode("NATS/1.0\r\n"), _msg: { hdr: 500 } } }],
  ])("falls back to msg.headers when the internals are not what it expects: %s", (_, internals) => {
    const h = natsHeaders();
    for (const [key, value] of Object.entries({ [CE.specversion]: "1.0", [CE.id]: "fallback", [CE.type]: "t", [CE.source]: "s", [CE.time]: "now" })) h.set(key, value);
    const m = { ...internals, headers: h } as unknown as StreamMessage;
    expect(envelopeOf(m)).toEqual({ specversion: "1.0", id: "fallback", type: "t", source: "s", time: "now", contentType: "" });
  });

  it("gives undefined through the fallback too when there are no headers", () => {
    expect(envelopeOf({ headers: undefined } as unknown as StreamMessage)).toBeUndefined();
  });
});

describe("decodeStored", () => {
  /** What decodeEvent makes of the same message, read through nats.js's own parser. */
  const viaNats = (headerText: string | undefined, bodyText: string) => {
    const m = received(headerText, bodyText);
    return decodeEvent(m.headers, m.data);
  };

  const task = createEvent(
    { type: "tide.task.submitted.v1", data: { taskId: "t-1", kind: "train", needs: { cpu: 2, memoryMb: 512 }, priority: 3, payload: { note: "café ☕" } } },
    { source: "tide://clöud/scheduler", id: "task-1", time: "2024-06-01T12:00:01.000Z" },
  ) as TideEvent;
  const taskEncoded = encodeEvent(task);
  const taskHeaders = new TextDecoder().decode((taskEncoded.headers as MsgHdrsImpl).encode());
  const taskBody = new TextDecoder().decode(taskEncoded.data);

  it("decodes an ASCII message from its raw bytes exactly as decodeEvent does, leaving its headers unparsed", () => {
    const m = received(headerBlock, body);
    expect(decodeStored(m)).toEqual({ success: true, event });
    expect(decodeStored(m)).toEqual(viaNats(headerBlock, body));
    expect(internalsOf(m)._headers).toBeUndefined();
  });

  it("decodes a message with UTF-8 in its headers and body exactly as decodeEvent does", () => {
    expect(decodeStored(received(taskHeaders, taskBody))).toEqual({ success: true, event: task });
    expect(decodeStored(received(taskHeaders, taskBody))).toEqual(viaNats(taskHeaders, taskBody));
  });

  it("decodes a body that starts with a byte order mark as decodeEvent does (TextDecoder drops it)", () => {
    expect(decodeStored(received(headerBlock, `\uFEFF${body}`))).toEqual(viaNats(headerBlock, `\uFEFF${body}`));
    expect(decodeStored(received(headerBlock, `\uFEFF${body}`)).success).toBe(true);
  });

  it.each([
    ["no headers", undefined, body],
    ["a body that is not JSON", headerBlock, "{temperature: 21"],
    ["a body that fails its schema", headerBlock, JSON.stringify({ ...event.data, temperature: "warm" })],
    ["a status line", `NATS/1.0 409 Odd\r\n${CE.id}: x\r\n\r\n`, body],
    ["a missing header", headerBlock.replace(/ce-time:[^\r]*\r\n/, ""), body],
    ["another spec version", headerBlock.replace("ce-specversion: 1.0", "ce-specversion: 0.3"), body],
  ])("fails a message with %s exactly as decodeEvent does", (_, headerText, bodyText) => {
    const decoded = decodeStored(received(headerText, bodyText));
    expect(decoded.success).toBe(false);
    expect(decoded).toEqual(viaNats(headerText, bodyText));
  });
});

describe("headerValueOf", () => {
  const withSource = headerBlock.replace(/\r\n\r\n$/, "\r\nNats-Stream-Source: UPLINK:6LmyhmDQ 42\r\n\r\n");

  it("reads one header from the raw bytes, leaving nats.js's headers unparsed", () => {
    const m = received(withSource, body);
    expect(headerValueOf(m, "Nats-Stream-Source")).toBe("UPLINK:6LmyhmDQ 42");
    expect(headerValueOf(m, "Nats-Msg-Id")).toBe("reading-1");
    expect(headerValueOf(m, "Nats-Expected-Stream")).toBeUndefined();
    expect(internalsOf(m)._headers).toBeUndefined();
  });

  it("reads it through nats.js's headers once they are parsed, and finds nothing without headers", () => {
    const m = received(withSource, body);
    expect(m.headers?.get("Nats-Stream-Source")).toBe("UPLINK:6LmyhmDQ 42");
    expect(headerValueOf(m, "Nats-Stream-Source")).toBe("UPLINK:6LmyhmDQ 42");
    expect(headerValueOf(received(undefined, body), "Nats-Stream-Source")).toBeUndefined();
  });

  it("does not take a header whose name only ends like the one asked for", () => {
    const m = received(headerBlock.replace(/\r\n\r\n$/, "\r\nX-Nats-Stream-Source: forged\r\n\r\n"), body);
    expect(headerValueOf(m, "Nats-Stream-Source")).toBeUndefined();
  });
});
