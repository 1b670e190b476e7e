import { describe, expect, it } from "vitest";
import { parseTrainingConfig } from "./config.ts";
import { decideDrift, forecastCases, type RecentReading } from "./drift.ts";

const drift = parseTrainingConfig({ drift: { ratio: 2, minMae: 0.3, minSamples: 10, cooldownMinutes: 30 } }).drift;
const now = Date.parse("2025-01-01T12:00:00Z");
const state = { now, production: { version: "v3", publishedMae: 0.2 }, recentMae: 0.5, samples: 40, inFlight: false };

describe("forecastCases", () => {
  const rows: RecentReading[] = [
    ...Array.from({ length: 6 }, (_, i) => ({ edge: "1", device: "a", seq: 10 + 2 * i, temperature: 20 + i, humidity: 40 })),
    ...Array.from({ length: 6 }, (_, i) => ({ edge: "2", device: "a", seq: 11 + 2 * i, temperature: 30 + i, humidity: 50 })),
  ];

  it("gives one case per reading with W + 1 earlier readings of the same device", () => {
    const cases = forecastCases(rows, 2, 0);
    // 6 readings per device, W + 1 = 3 before each target: targets 3, 4, 5 of each device.
    expect(cases).toHaveLength(6);
    const first = cases.find((c) => c.device === "2/a")!;
    expect(first.window.map((p) => p.temperature)).toEqual([30, 31, 32]);
    expect(first.actual).toBe(33);
  });

  it("only judges readings after the model's training data", () => {
    expect(forecastCases(rows, 2, 19).map((c) => c.targetSeq)).toEqual([20, 21]);
  });
});

describe("decideDrift", () => {
  it("requests training when the recent error is past ratio × published error, saying why", () => {
    const decision = decideDrift(drift, state);
    expect(decision.request).toBe(true);
    expect(decision.request && decision.detail).toMatch(/^production v3: MAE 0.500 °C on 40 forecasts .* vs 0.200 °C at publication \(threshold 0.400 °C/);
  });

  it.each([
    ["within ratio × published", { recentMae: 0.39 }, /within threshold 0.400/],
    ["below the absolute floor", { production: { version: "v3", publishedMae: 0.05 }, recentMae: 0.25 }, /within threshold 0.300/],
    ["too few samples", { samples: 9 }, /9 recent forecast\(s\), need 10/],
    ["a run in flight", { inFlight: true }, /in flight/],
    ["in the cooldown", { lastDriftAt: now - 29 * 60_000 }, /less than 30 min ago/],
  ])("does not request %s", (_what, change, why) => {
    const decision = decideDrift(drift, { ...state, ...change });
    expect(decision.request).toBe(false);
    expect(!decision.request && decision.why).toMatch(why);
  });

  it("requests again after the cooldown", () => {
    expect(decideDrift(drift, { ...state, lastDriftAt: now - 31 * 60_000 }).request).toBe(true);
  });
});
