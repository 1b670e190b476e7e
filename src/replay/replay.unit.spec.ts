import { describe, expect, it } from "vitest";
import { replayTotal } from "./replay.ts";

// A stream of 1000 messages, the last stored at 12:00; the read is at seq 100 having read 100.
const end = { lastSeq: 1000, lastStoredAtMs: Date.parse("2026-11-25T12:00:00Z") };
const at100 = { seq: 100, pending: 900 };

describe("replayTotal", () => {
  it("is what is read plus what is pending when nothing bounds the read", () => {
    expect(replayTotal(100, at100, {}, end)).toBe(1000);
  });

  it("stops at --to-seq", () => {
    expect(replayTotal(100, at100, { toSeq: 250 }, end)).toBe(250);
    // A bound past the stream's end cuts nothing.
    expect(replayTotal(100, at100, { toSeq: 5000 }, end)).toBe(1000);
  });

  it("does not count messages stored after the read began (pending grows, the read stops at the old end)", () => {
    expect(replayTotal(100, { seq: 100, pending: 1200 }, {}, end)).toBe(1000);
  });

  it("has no total when --until falls inside the stream: the pending count runs to the end", () => {
    expect(replayTotal(100, at100, { until: new Date("2026-11-25T11:00:00Z") }, end)).toBeUndefined();
    // An --until at or after the last message cuts nothing.
    expect(replayTotal(100, at100, { until: new Date("2026-11-25T12:00:00Z") }, end)).toBe(1000);
    expect(replayTotal(100, at100, { until: new Date("2026-11-26T00:00:00Z"), toSeq: 300 }, end)).toBe(300);
  });

  it("with a subject filter counts the matching pending messages, and has no total when a sequence bound cuts them", () => {
    const filtered = { seq: 400, pending: 30 };
    expect(replayTotal(10, filtered, { subject: "tide.reading.1.>" }, end)).toBe(40);
    expect(replayTotal(10, filtered, { subject: "tide.reading.1.>", toSeq: 500 }, end)).toBeUndefined();
    expect(replayTotal(10, filtered, { subject: "tide.reading.1.>", toSeq: 1000 }, end)).toBe(40);
  });

  it("counts the last message of the range as done", () => {
    expect(replayTotal(250, { seq: 250, pending: 750 }, { toSeq: 250 }, end)).toBe(250);
  });
});
