import { describe, expect, it } from "vitest";
import { BASELINE_MIN_SPREAD, baselinePredict } from "./baseline.ts";

const series = (temps: number[]) => temps.map((temperature, i) => ({ seq: 100 + i, temperature, humidity: 50 }));

describe("baselinePredict", () => {
  it("is persistence with one reading, and scores nothing without history", () => {
    expect(baselinePredict(series([21.5]))).toEqual({ temperature: 21.5, anomalyScore: 0, inputSeqs: [100] });
    expect(baselinePredict(series([21, 22])).anomalyScore).toBe(0);
  });

  it("extrapolates the linear trend of the last 8 readings one step", () => {
    const temps = [50, 50, 1, 2, 3, 4, 5, 6, 7, 8]; // the first two are beyond its 8
    expect(baselinePredict(series(temps)).temperature).toBeCloseTo(9, 9);
  });

  it("scores the last reading in units of the robust spread before it (floored)", () => {
    const flat = [20, 20, 20, 20, 20, 20, 20, 20];
    expect(baselinePredict(series([...flat, 20.5])).anomalyScore).toBeCloseTo(0.5 / BASELINE_MIN_SPREAD, 9);
    const noisy = [20, 21, 20, 21, 20, 21, 20, 21];
    const calm = baselinePredict(series([...noisy, 20.5])).anomalyScore;
    const spike = baselinePredict(series([...noisy, 30])).anomalyScore;
    expect(calm).toBeLessThan(1);
    expect(spike).toBeGreaterThan(5);
  });

  it("names the readings it used: the last 9 at most", () => {
    expect(baselinePredict(series(Array.from({ length: 12 }, () => 20))).inputSeqs).toEqual([103, 104, 105, 106, 107, 108, 109, 110, 111]);
  });
});
