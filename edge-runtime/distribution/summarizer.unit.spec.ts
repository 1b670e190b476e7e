import { describe, expect, it } from "vitest";
import type { ReadingData } from "../../src/events/index.ts";
import { createSummarizer } from "./summarizer.ts";

const at = (ts: string, temperature: number, humidity: number, device = "d1"): ReadingData => ({ edge: "1", device, ts, temperature, humidity });
const T0 = Date.parse("2024-06-01T10:00:00.000Z");

describe("summarizer", () => {
  it("given readings of one window, when a reading of the next arrives, then the first window's aggregates", () => {
    const s = createSummarizer("1");
    expect(s.add(at("2024-06-01T10:00:05Z", 20, 40), 11, 60, T0)).toBeUndefined();
    expect(s.add(at("2024-06-01T10:00:30Z", 22, 50), 12, 60, T0)).toBeUndefined();
    expect(s.add(at("2024-06-01T10:00:59.999Z", 24, 30), 14, 60, T0)).toBeUndefined();
    const closed = s.add(at("2024-06-01T10:01:00Z", 99, 99), 15, 60, T0);
    expect(closed).toEqual({
      edge: "1",
      device: "d1",
      windowStart: "2024-06-01T10:00:00.000Z",
      windowEnd: "2024-06-01T10:01:00.000Z",
      count: 3,
      temperature: { mean: 22, min: 20, max: 24 },
      humidity: { mean: 40, min: 30, max: 50 },
      fromSeq: 11,
      toSeq: 14,
    });
    expect(s.openWindows).toBe(1);
  });

  it("keeps devices apart", () => {
    const s = createSummarizer("1");
    s.add(at("2024-06-01T10:00:05Z", 20, 40, "a"), 1, 60, T0);
    expect(s.add(at("2024-06-01T10:05:00Z", 20, 40, "b"), 2, 60, T0)).toBeUndefined();
    expect(s.openWindows).toBe(2);
  });

  it("a late reading closes the open window and gets a summary of its own window", () => {
    const s = createSummarizer("1");
    s.add(at("2024-06-01T10:01:10Z", 20, 40), 5, 60, T0);
    const closed = s.add(at("2024-06-01T10:00:50Z", 10, 10), 6, 60, T0);
    expect(closed).toMatchObject({ windowStart: "2024-06-01T10:01:00.000Z", count: 1, fromSeq: 5, toSeq: 5 });
    expect(s.flushAll()).toEqual([expect.objectContaining({ windowStart: "2024-06-01T10:00:00.000Z", count: 1, fromSeq: 6 })]);
  });

  it("a window size change closes the open window", () => {
    const s = createSummarizer("1");
    s.add(at("2024-06-01T10:00:10Z", 20, 40), 1, 60, T0);
    expect(s.add(at("2024-06-01T10:00:20Z", 20, 40), 2, 3600, T0)).toMatchObject({ windowEnd: "2024-06-01T10:01:00.000Z", count: 1 });
  });

  it("the timer closes a window once it has ended and the device has been idle", () => {
    const s = createSummarizer("1");
    s.add(at("2024-06-01T10:00:10Z", 20, 40), 1, 60, T0 + 10_000);
    expect(s.flushIdle(T0 + 59_000, 1000)).toEqual([]); // idle, but the window is still running
    s.add(at("2024-06-01T10:00:59Z", 21, 41), 2, 60, T0 + 60_500);
    expect(s.flushIdle(T0 + 61_000, 1000)).toEqual([]); // ended, but the device spoke 500 ms ago
    expect(s.flushIdle(T0 + 61_500, 1000)).toEqual([expect.objectContaining({ count: 2, fromSeq: 1, toSeq: 2 })]);
    expect(s.openWindows).toBe(0);
  });
});
