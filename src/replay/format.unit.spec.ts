import { describe, expect, it } from "vitest";
import { csvField, formatReplayLine, replayHeader, type ReplayLine } from "./format.ts";

const line: ReplayLine = { seq: 7, subject: "tide.reading.1.d1.up", storedAt: "2026-11-25T10:00:00.000Z", type: "tide.reading.recorded.v1", id: "abc", valid: true, data: { device: "d1", temperature: 21.5 } };

describe("replay formats", () => {
  it("JSON lines carry the whole line", () => {
    expect(JSON.parse(formatReplayLine(line, "json"))).toEqual(line);
  });

  it("CSV quotes fields with commas and quotes (RFC 4180) and has a header", () => {
    expect(replayHeader("csv")).toBe("seq,stored_at,subject,type,id,valid,data\n");
    expect(formatReplayLine(line, "csv")).toBe('7,2026-11-25T10:00:00.000Z,tide.reading.1.d1.up,tide.reading.recorded.v1,abc,true,"{""device"":""d1"",""temperature"":21.5}"\n');
    expect(csvField('a "b"\nc')).toBe('"a ""b""\nc"');
    expect(csvField("plain")).toBe("plain");
    const bad = { ...line, valid: false, type: "tide.nope.v1", data: "not json", error: "body is not JSON" };
    expect(formatReplayLine(bad, "csv")).toBe("7,2026-11-25T10:00:00.000Z,tide.reading.1.d1.up,INVALID tide.nope.v1,abc,false,not json\n");
  });

  it("the table shows each event's id (what `tide audit decision` takes)", () => {
    expect(replayHeader("table")).toMatch(/ TYPE +ID +DATA\n$/);
    const id = "0190f6c2-3b8e-7d41-9c2a-5e6f7a8b9c0d";
    expect(formatReplayLine({ ...line, id }, "table")).toMatch(new RegExp(`tide\\.reading\\.recorded\\.v1 +${id}  \\{"device":"d1"`));
    expect(formatReplayLine({ ...line, id: "", valid: false, error: "schema" }, "table")).toMatch(/INVALID schema +- +/);
  });

  it("the table cuts long data", () => {
    const long = { ...line, data: { text: "x".repeat(300) } };
    const row = formatReplayLine(long, "table");
    expect(row).toMatch(/^ {7}7 {2}2026-11-25T10:00:00\.000Z/);
    expect(row.trimEnd().endsWith("...")).toBe(true);
    expect(formatReplayLine({ ...line, valid: false, error: "schema" }, "table")).toMatch(/INVALID schema/);
  });
});
