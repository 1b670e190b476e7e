import { describe, expect, it } from "vitest";
import { demoClockStart, resumedClockStart } from "./settings.ts";

describe("the demo's simulated clock", () => {
  it("starts at the latest 13:00 UTC at or before now, whatever the hour the demo runs at", () => {
    expect(new Date(demoClockStart(Date.parse("2026-12-04T00:46:24.000Z"))).toISOString()).toBe("2026-12-03T13:00:00.000Z");
    expect(new Date(demoClockStart(Date.parse("2026-12-04T12:59:59.999Z"))).toISOString()).toBe("2026-12-03T13:00:00.000Z");
    expect(new Date(demoClockStart(Date.parse("2026-12-04T13:00:00.000Z"))).toISOString()).toBe("2026-12-04T13:00:00.000Z");
    expect(new Date(demoClockStart(Date.parse("2026-12-04T23:10:00.000Z"))).toISOString()).toBe("2026-12-04T13:00:00.000Z");
  });

  it("takes another hour", () => {
    expect(new Date(demoClockStart(Date.parse("2026-12-04T08:00:00.000Z"), 6)).toISOString()).toBe("2026-12-04T06:00:00.000Z");
  });

  it("resumes one step after the newest reading an earlier run of the same simulated day stored, so no reading id repeats", () => {
    const now = Date.parse("2026-12-04T15:00:00.000Z");
    const start = Date.parse("2026-12-04T13:00:00.000Z");
    expect(resumedClockStart(now, undefined, 12_000)).toBe(start);
    expect(resumedClockStart(now, start + 3_600_000, 12_000)).toBe(start + 3_612_000);
    // Readings of an earlier day: today's afternoon again.
    expect(resumedClockStart(now, Date.parse("2026-12-03T20:00:00.000Z"), 12_000)).toBe(start);
    expect(resumedClockStart(now, start - 12_000, 12_000)).toBe(start);
  });
});
