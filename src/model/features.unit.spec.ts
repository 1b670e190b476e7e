import { describe, expect, it } from "vitest";
import { buildWindows, computeStats, inputSize, normaliser, type ReadingPoint } from "./features.ts";
import { syntheticReadings } from "./synthetic.ts";

const point = (seq: number, temperature: number, humidity: number, device?: string): ReadingPoint => ({ seq, temperature, humidity, ...(device ? { device } : {}) });

describe("computeStats", () => {
  it("gives population mean and std per feature", () => {
    const stats = computeStats([point(1, 10, 40), point(2, 20, 60)]);
    expect(stats).toEqual({ temperature: { mean: 15, std: 5 }, humidity: { mean: 50, std: 10 } });
  });

  it("uses std 1 for a constant or empty feature, so normalising never divides by zero", () => {
    expect(computeStats([point(1, 21, 50), point(2, 21, 50)])).toEqual({ temperature: { mean: 21, std: 1 }, humidity: { mean: 50, std: 1 } });
    expect(computeStats([])).toEqual({ temperature: { mean: 0, std: 1 }, humidity: { mean: 0, std: 1 } });
  });
});

describe("normaliser", () => {
  const norm = normaliser({ temperature: { mean: 20, std: 2 }, humidity: { mean: 50, std: 10 } });

  it("interleaves features per time step, oldest first", () => {
    expect(norm.input([point(1, 22, 60), point(2, 18, 40)])).toEqual([1, 1, -1, -1]);
  });

  it("denormalises temperatures back to °C", () => {
    expect(norm.denormaliseTemperature(norm.temperature(23.5))).toBeCloseTo(23.5, 12);
  });
});

describe("buildWindows", () => {
  const stats = { temperature: { mean: 0, std: 1 }, humidity: { mean: 0, std: 1 } };

  it("slides a window of W over the readings with the next temperature as target", () => {
    const readings = [1, 2, 3, 4, 5].map((i) => point(i * 10, i, 100 + i));
    const windows = buildWindows(readings, 3, stats);
    expect(windows.inputs).toEqual([
      [1, 101, 2, 102, 3, 103],
      [2, 102, 3, 103, 4, 104],
    ]);
    expect(windows.targets).toEqual([4, 5]);
    expect(windows.inputSeqs).toEqual([
      [10, 20, 30],
      [20, 30, 40],
    ]);
    expect(windows.targetSeqs).toEqual([40, 50]);
  });

  it("never mixes devices in one window, and keeps their order of first appearance", () => {
    const readings = [point(1, 1, 0, "b"), point(2, 100, 0, "a"), point(3, 2, 0, "b"), point(4, 200, 0, "a"), point(5, 3, 0, "b"), point(6, 300, 0, "a")];
    const windows = buildWindows(readings, 2, stats);
    expect(windows.inputSeqs).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(windows.targets).toEqual([3, 300]);
  });

  it("gives no sample when a device has W readings or fewer", () => {
    expect(buildWindows([point(1, 1, 1), point(2, 2, 2)], 2, stats).inputs).toEqual([]);
  });

  it("normalises with the statistics given (or those of the readings)", () => {
    const readings = syntheticReadings({ perDevice: 30 });
    const own = computeStats(readings);
    const windows = buildWindows(readings, 8);
    expect(windows.inputs[0]).toHaveLength(inputSize(8));
    expect(windows.targets[0]).toBeCloseTo((readings[8]!.temperature - own.temperature.mean) / own.temperature.std, 12);
  });

  it("is deterministic", () => {
    const readings = syntheticReadings({ devices: ["x", "y", "z"], perDevice: 50, seed: 9 });
    expect(buildWindows(readings, 8)).toEqual(buildWindows(syntheticReadings({ devices: ["x", "y", "z"], perDevice: 50, seed: 9 }), 8));
  });

  it("refuses a window that is not a positive integer", () => {
    expect(() => buildWindows([], 0)).toThrow(RangeError);
  });
});
