import { describe, expect, it } from "vitest";
import { syntheticReadings } from "../model/synthetic.ts";
import { buildDataset, datasetHash, persistenceMae, type DatasetOptions, type TrainingReading } from "./dataset.ts";

const options: DatasetOptions = { window: 4, split: { validation: 0.15, test: 0.15 } };
const readings: TrainingReading[] = syntheticReadings({ devices: ["a", "b", "c"], perDevice: 60, seed: 9 }).map((r) => ({
  seq: r.seq,
  edge: r.device === "c" ? "2" : "1",
  device: r.device === "c" ? "a" : r.device!,
  temperature: r.temperature,
  humidity: r.humidity,
}));

describe("buildDataset", () => {
  it("gives the same dataset and hash for the same readings, whatever order they come in", () => {
    const a = buildDataset(readings, options);
    const b = buildDataset([...readings].reverse(), options);
    expect(b).toEqual(a);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("hashes differently when a reading, the range or the options differ", () => {
    const base = datasetHash(readings, options);
    const changed = readings.map((r, i) => (i === 10 ? { ...r, temperature: r.temperature + 0.01 } : r));
    expect(datasetHash(changed, options)).not.toBe(base);
    expect(datasetHash(readings.slice(1), options)).not.toBe(base);
    expect(datasetHash(readings, { ...options, window: 5 })).not.toBe(base);
    expect(datasetHash(readings, { ...options, split: { validation: 0.2, test: 0.15 } })).not.toBe(base);
  });

  it("splits chronologically by target seq: train, then validation, then test", () => {
    const d = buildDataset(readings, options);
    const total = d.train.targets.length + d.validation.targets.length + d.test.targets.length;
    // Per device: 60 readings give 60 - W samples.
    expect(total).toBe(3 * (60 - options.window));
    expect(d.test.targets.length).toBe(Math.floor(total * 0.15));
    expect(d.validation.targets.length).toBe(Math.floor(total * 0.15));
    expect(Math.max(...d.train.targetSeqs)).toBeLessThan(Math.min(...d.validation.targetSeqs));
    expect(Math.max(...d.validation.targetSeqs)).toBeLessThan(Math.min(...d.test.targetSeqs));
    expect(d).toMatchObject({ readings: 180, devices: 3, fromSeq: 1, toSeq: 180, window: 4 });
  });

  it("keeps devices of different edges apart (edge/device), and windows never cross devices", () => {
    const d = buildDataset(readings, options);
    expect(d.devices).toBe(3);
    const sameNameOtherEdge = buildDataset(readings.map((r) => ({ ...r, edge: "1" })), options);
    // Merging edge 2's `a` into edge 1's `a` makes one longer series: more samples from fewer devices.
    expect(sameNameOtherEdge.devices).toBe(2);
  });

  it("normalises with statistics of the training split only", () => {
    const d = buildDataset(readings, options);
    const spiked = readings.map((r) => (r.seq === readings.length ? { ...r, temperature: 90 } : r));
    expect(buildDataset(spiked, options).stats).toEqual(d.stats);
  });

  it("has no samples (and no failure) for too few readings", () => {
    const d = buildDataset(readings.slice(0, 3), options);
    expect(d.train.inputs).toEqual([]);
    expect(d.test.inputs).toEqual([]);
  });
});

describe("persistenceMae", () => {
  it("is the mean |last temperature - next temperature| in °C", () => {
    const stats = { temperature: { mean: 20, std: 2 }, humidity: { mean: 50, std: 10 } };
    // W = 2: inputs [t0, h0, t1, h1] normalised; last temperature at index 2.
    const split = { inputs: [[0, 0, 0.5, 0], [0, 0, -1, 0]], targets: [1, -1.5], targetSeqs: [3, 4] };
    expect(persistenceMae(split, stats, 2)).toBeCloseTo(((0.5 * 2) + (0.5 * 2)) / 2, 12);
    expect(persistenceMae({ inputs: [], targets: [], targetSeqs: [] }, stats, 2)).toBe(0);
  });
});
