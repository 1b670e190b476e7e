import { describe, expect, it } from "vitest";
import { isoTimeOf } from "./iso-time.ts";

describe("isoTimeOf", () => {
  it("is Date's toISOString for times in order, out of order and repeated", () => {
    const base = Date.parse("2025-03-01T23:59:58.990Z");
    const times = [
      ...Array.from({ length: 3000 }, (_, i) => base + i), // across seconds, minutes, hours, a day and a month
      base + 5,
      base,
      base,
      base - 1,
      base + 86_400_000 * 400, // another year
      0,
      -1, // before the epoch
      -1000,
      -1001,
      -62_198_755_200_000, // year 0
      8.64e15, // the last time Date has (a six-digit year)
      -8.64e15,
      1.5, // not whole: Date truncates
      1.5,
      1.999,
    ];
    for (const ms of times) expect(isoTimeOf(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it("throws Date's RangeError for a time that is not one", () => {
    expect(() => isoTimeOf(Number.NaN)).toThrow(RangeError);
    isoTimeOf(8.64e15);
    expect(() => isoTimeOf(8.64e15 + 1)).toThrow(RangeError);
    isoTimeOf(-8.64e15);
    expect(() => isoTimeOf(-8.64e15 - 1)).toThrow(RangeError);
  });
});
