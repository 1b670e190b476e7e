import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildWindows, computeStats } from "./features.ts";
import { createForecastModel, disposeForecastModel, evaluateForecastModel, trainForecastModel, type EpochReport } from "./forecast-model.ts";
import { syntheticReadings } from "./synthetic.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("forecast model", () => {
  const readings = syntheticReadings({ devices: ["a", "b", "c"], perDevice: 150, seed: 5 });
  const stats = computeStats(readings);
  const windows = buildWindows(readings, 8, stats);

  it("takes 2·W inputs and gives one output; the same seed gives the same weights", () => {
    const [m1, m2] = [createForecastModel(tf, { window: 8, seed: 4 }), createForecastModel(tf, { window: 8, seed: 4 })];
    expect(m1.inputs[0]!.shape).toEqual([null, 16]);
    expect(m1.outputs[0]!.shape).toEqual([null, 1]);
    expect(m1.getWeights()[0]!.dataSync()).toEqual(m2.getWeights()[0]!.dataSync());
    disposeForecastModel(m1);
    disposeForecastModel(m2);
  });

  it("trains, reporting every epoch, and learns (its error at least halves)", async () => {
    const before = tf.memory().numTensors;
    const model = createForecastModel(tf, { window: 8, seed: 4 });
    const untrained = evaluateForecastModel(tf, model, windows, stats);
    const reports: EpochReport[] = [];
    const history = await trainForecastModel(tf, model, { ...windows, epochs: 5, batchSize: 32, validationSplit: 0.2, onEpochEnd: (r) => void reports.push(r) });
    expect(reports.map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(reports[0]!.samples).toBe(windows.inputs.length - Math.floor(windows.inputs.length * 0.2));
    expect(history.loss).toHaveLength(5);
    expect(history.valLoss).toHaveLength(5);
    expect(history.loss[4]!).toBeLessThan(history.loss[0]!);
    const trained = evaluateForecastModel(tf, model, windows, stats);
    expect(trained.mae).toBeLessThan(untrained.mae / 2);
    expect(trained.residualStd).toBeGreaterThan(0);
    disposeForecastModel(model);
    expect(tf.memory().numTensors).toBe(before);
  });
});
