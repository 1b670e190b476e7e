import { MsgHdrsImpl, headers as natsHeaders } from "nats";
import { describe, expect, it } from "vitest";
import type { TideEvent } from "./catalogue.ts";
import { attributesOf, CE, createEvent, encodeEvent, type EnvelopeAttributes } from "./envelope.ts";
import { parseEnvelopeHeaders } from "./raw-headers.ts";

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);
const block = (...lines: string[]) => bytes(`NATS/1.0\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`);

/** What nats.js's own parser makes of the block, read the way decodeEvent reads it (or the error it throws). */
function reference(raw: Uint8Array): EnvelopeAttributes | Error {
  try {
    return attributesOf(MsgHdrsImpl.decode(raw));
  } catch (error) {
    return error as Error;
  }
}

const none: EnvelopeAttributes = { specversion: "", id: "", type: "", source: "", time: "", contentType: "" };

describe("parseEnvelopeHeaders", () => {
  it("reads back what encodeEvent wrote, as nats.js reads it", () => {
    const event = createEvent(
      { type: "tide.reading.recorded.v1", data: { edge: "1", device: "d1", ts: "2024-06-01T12:00:00.000Z", temperature: 21.5, humidity: 40 } },
      { source: "tide://edge-1/ingest" },
    ) as TideEvent;
    const raw = (encodeEvent(event).headers as MsgHdrsImpl).encode();
    expect(parseEnvelopeHeaders(raw)).toEqual({
      specversion: "1.0",
      id: event.metadata.id,
      type: "tide.reading.recorded.v1",
      source: "tide://edge-1/ingest",
      time: event.metadata.time,
      contentType: "application/json",
    });
    expect(parseEnvelopeHeaders(raw)).toEqual(reference(raw));
  });

  it("reads headers nats.js encoded in any order, with other headers among them", () => {
    const h = natsHeaders() as MsgHdrsImpl;
    h.append("X-Trace", "abc");
    h.append(CE.time, "2024-06-01T12:00:00Z");
    h.append(CE.source, "tide://cloud/x");
    h.append("Nats-Expected-Last-Subject-Sequence", "12");
    h.append(CE.type, "tide.task.submitted.v1");
    h.append(CE.id, "id-7");
    h.append(CE.specversion, "1.0");
    const raw = h.encode();
    expect(parseEnvelopeHeaders(raw)).toEqual({ ...none, specversion: "1.0", id: "id-7", type: "tide.task.submitted.v1", source: "tide://cloud/x", time: "2024-06-01T12:00:00Z" });
    expect(parseEnvelopeHeaders(raw)).toEqual(reference(raw));
  });

  it.each([
    ["absent headers as empty", block("X-Other: 1")],
    ["no headers at all", bytes("NATS/1.0\r\n\r\n")],
    ["a repeated key by its first value", block("ce-id: first", "ce-id: second")],
    ["an empty first value of a repeated key as empty", block("ce-id:", "ce-id: second")],
    ["values trimmed, inner spaces kept", block("ce-source:   tide://a b \t", "ce-id:\tx ")],
    ["keys case-sensitively", block("Ce-Id: upper", "CE-TYPE: shout", "ce-type: lower")],
    ["a colon inside a value", block("ce-source: tide://edge-1:4222/x", "ce-time: 12:00")],
    ["UTF-8 values", block("ce-source: tide://café/ingest", "ce-id: ünïcødé")],
    ["invalid UTF-8 replaced", new Uint8Array([...bytes("NATS/1.0\r\nce-id: a"), 0xff, 0xc3, ...bytes("b\r\n\r\n")])],
    ["a BOM inside a value", block("ce-id: \uFEFFx", "ce-type:\uFEFF")],
    ["lines without a colon skipped", block("garbage line", "ce-id: x", "", "more garbage")],
    ["a last line without CRLF", bytes("NATS/1.0\r\nce-id: x\r\nce-type: y")],
    ["a key with every printable character but ':'", block("!#$%&'*+-.^_`|~09AZaz: v", "ce-id: x")],
  ])("matches nats.js on %s", (_, raw) => {
    const parsed = parseEnvelopeHeaders(raw);
    expect(parsed).toBeDefined();
    expect(parsed).toEqual(reference(raw));
  });

  it.each([
    ["a status line", bytes("NATS/1.0 503\r\n\r\n")],
    ["a status line with a description", bytes("NATS/1.0 100 Idle Heartbeat\r\nce-id: x\r\n\r\n")],
    ["another protocol line", bytes("NATS/2.0\r\nce-id: x\r\n\r\n")],
    ["a block shorter than the status line", bytes("NATS/1.0")],
    ["an empty block", new Uint8Array(0)],
    ["a lone LF in a value", block("ce-id: a\nb")],
    ["a lone CR in a value", block("ce-id: a\rb")],
    ["a lone LF before a key", bytes("NATS/1.0\r\nce-type: t\nce-id: x\r\n\r\n")],
    ["a trailing lone CR", bytes("NATS/1.0\r\nce-id: x\r")],
    ["a trailing lone LF", bytes("NATS/1.0\r\nce-id: x\n")],
    ["a key with a space", block("ce id: x")],
    ["a key with a trailing space", block("ce-id : x")],
    ["a key with a non-ASCII character", block("cé-id: x")],
    ["an empty key", block(": x", "ce-id: y")],
  ])("leaves %s to nats.js", (_, raw) => {
    expect(parseEnvelopeHeaders(raw)).toBeUndefined();
  });

  it("agrees with nats.js on every block it accepts (random blocks)", () => {
    // Pieces that make header blocks interesting: our keys and near misses, separators, whitespace, odd bytes.
    const pieces = [
      "ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time", "content-type", "Nats-Msg-Id", "Ce-Id", "ce-id ", "x",
      ":", ": ", "1.0", "id-1", "tide://e/x", " ", "\t", "\r\n", "\r", "\n", "é", "\uFEFF", "NATS/1.0", "503",
    ];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      let text = random(10) === 0 ? "NATS/1.0 " : "NATS/1.0\r\n";
      const lines = random(6);
      for (let l = 0; l < lines; l++) {
        const parts = 1 + random(6);
        for (let p = 0; p < parts; p++) text += pieces[random(pieces.length)];
        text += random(8) === 0 ? "" : "\r\n";
      }
      const raw = random(12) === 0 ? new Uint8Array([...bytes(text), 0xff]) : bytes(text);
      const parsed = parseEnvelopeHeaders(raw);
      if (parsed === undefined) continue;
      accepted++;
      expect(parsed, JSON.stringify(text)).toEqual(reference(raw));
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
