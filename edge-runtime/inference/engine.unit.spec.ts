import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.ts";
import { loadModelArtifact, serializeModel, type LoadedModel } from "../../src/model/artifact.ts";
import { computeStats, normaliser, type ReadingPoint } from "../../src/model/features.ts";
import { createForecastModel, disposeForecastModel, predictTemperatures } from "../../src/model/forecast-model.ts";
import { syntheticReadings } from "../../src/model/synthetic.ts";
import { createInferenceEngine, type InferenceResult } from "./engine.ts";
import { ActivationError } from "./model-slots.ts";

const W = 8;
const readings = syntheticReadings({ devices: ["d0", "d1", "d2", "d3", "d4"], perDevice: 60, seed: 11 });
const stats = computeStats(readings);
const byDevice = new Map<string, ReadingPoint[]>();
for (const r of readings) byDevice.set(r.device!, [...(byDevice.get(r.device!) ?? []), r]);
const devices = [...byDevice.keys()];

/** The window of W+1 readings of `device` ending at its `end`-th reading. */
function windowOf(device: string, end: number): ReadingPoint[] {
  const series = byDevice.get(device)!;
  const stop = W + 1 + (end % (series.length - W - 1));
  return series.slice(stop - W - 1, stop);
}

async function makeModel(version: string, seed: number): Promise<LoadedModel> {
  const model = createForecastModel(tf, { window: W, seed });
  const bytes = await serializeModel(model, { version, normalisation: stats, window: W, residualStd: 0.25 });
  disposeForecastModel(model);
  return loadModelArtifact(tf, bytes);
}

const engineFor = (options: { maxBatch?: number; maxWaitMs?: number } = {}) => createInferenceEngine({ tf, logger: silentLogger, ...options });
const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("inference engine: baseline", () => {
  it("answers with the documented baseline before any model is active", async () => {
    const engine = engineFor();
    const line = Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, temperature: 20 + 0.5 * i, humidity: 50 }));
    const result = await engine.predict({ device: "d0", window: line });
    expect(engine.activeVersion()).toBe("baseline");
    expect(result).toMatchObject({ device: "d0", modelVersion: "baseline", basis: "baseline", batchSize: 1, inputSeqs: [2, 3, 4, 5, 6, 7, 8, 9, 10] });
    expect(result.backend).toBeUndefined();
    expect(result.prediction.temperature).toBeCloseTo(25, 9); // the trend, one step ahead
    expect(result.anomalyScore).toBeCloseTo(0, 9);
    const spiked = [...line.slice(0, 9), { seq: 10, temperature: 30, humidity: 50 }];
    expect((await engine.predict({ device: "d0", window: spiked })).anomalyScore).toBeGreaterThan(10);
  });

  it("rejects an empty window", async () => {
    await expect(engineFor().predict({ device: "d0", window: [] })).rejects.toThrow(/at least one reading/);
  });
});

describe("inference engine: model", () => {
  it("predicts with the model and scores the last reading against the prediction without it", async () => {
    const engine = engineFor();
    const v1 = await makeModel("v1", 1);
    engine.activate(v1);
    expect(engine.requiredWindow()).toBe(W + 1);
    const window = windowOf("d2", 17);
    const result = await engine.predict({ device: "d2", window });
    const norm = normaliser(stats);
    const [next, lastExpected] = predictTemperatures(tf, v1.model, [norm.input(window.slice(1)), norm.input(window.slice(0, W))], stats);
    expect(result).toMatchObject({ modelVersion: "v1", basis: "model", backend: "cpu", inputSeqs: window.map((r) => r.seq) });
    expect(result.prediction.temperature).toBeCloseTo(next!, 4);
    expect(result.anomalyScore).toBeCloseTo(Math.abs(window[W]!.temperature - lastExpected!) / 0.25, 3);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    await engine.close();
  });

  it("falls back to the baseline for a window shorter than W + 1", async () => {
    const engine = engineFor();
    engine.activate(await makeModel("v1", 1));
    const result = await engine.predict({ device: "d0", window: windowOf("d0", 3).slice(1) });
    expect(result.modelVersion).toBe("baseline");
    await engine.close();
  });

  it("micro-batches concurrent requests into few model calls with the same answers", async () => {
    const engine = engineFor({ maxBatch: 64, maxWaitMs: 5 });
    engine.activate(await makeModel("v1", 1));
    const inputs = Array.from({ length: 200 }, (_, i) => ({ device: devices[i % 5]!, window: windowOf(devices[i % 5]!, i) }));
    const batched = await Promise.all(inputs.map((input) => engine.predict(input)));
    expect(engine.stats()).toMatchObject({ requests: 200, modelRequests: 200, batches: 4, largestBatch: 64 });
    const alone: InferenceResult[] = [];
    for (const input of inputs.slice(0, 20)) alone.push(await engine.predict(input));
    expect(engine.stats().batches).toBe(24);
    alone.forEach((single, i) => {
      expect(batched[i]!.prediction.temperature).toBeCloseTo(single.prediction.temperature, 4);
      expect(batched[i]!.anomalyScore).toBeCloseTo(single.anomalyScore, 3);
    });
    await engine.close();
  });

  it("by default waits for no one: requests made together are one call, and those made while it runs are the next", async () => {
    const engine = engineFor();
    engine.activate(await makeModel("v1", 1));
    const first = Array.from({ length: 10 }, (_, i) => engine.predict({ device: "d0", window: windowOf("d0", i) }));
    // The next macrotask: the first ten have gone to the model (one call, under way, not yet answered).
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.stats().batches).toBe(1);
    // Made while that call runs: they queue and go together in the next.
    const second = Array.from({ length: 7 }, (_, i) => engine.predict({ device: "d1", window: windowOf("d1", i) }));
    const results = await Promise.all([...first, ...second]);
    expect(engine.stats()).toMatchObject({ requests: 17, batches: 2 });
    expect(results.map((r) => r.batchSize)).toEqual([...Array(10).fill(10), ...Array(7).fill(7)]);
    await engine.close();
  });

  it("gathers requests arriving within maxWaitMs across ticks into one call", async () => {
    const engine = engineFor({ maxWaitMs: 50 });
    engine.activate(await makeModel("v1", 1));
    const first = [0, 1, 2].map((i) => engine.predict({ device: "d0", window: windowOf("d0", i) }));
    await nextTick();
    const second = [3, 4].map((i) => engine.predict({ device: "d1", window: windowOf("d1", i) }));
    const results = await Promise.all([...first, ...second]);
    expect(engine.stats().batches).toBe(1);
    expect(results.map((r) => r.batchSize)).toEqual([5, 5, 5, 5, 5]);
    await engine.close();
  });
});

describe("inference engine: hot-swap", () => {
  it("binds each request to the model active when it was made, even inside one queued batch", async () => {
    const engine = engineFor({ maxWaitMs: 10 });
    engine.activate(await makeModel("v1", 1));
    const before = Array.from({ length: 30 }, (_, i) => engine.predict({ device: devices[i % 5]!, window: windowOf(devices[i % 5]!, i) }));
    engine.activate(await makeModel("v2", 2)); // the first 30 are still queued
    const after = Array.from({ length: 30 }, (_, i) => engine.predict({ device: devices[i % 5]!, window: windowOf(devices[i % 5]!, i) }));
    const [old, fresh] = [await Promise.all(before), await Promise.all(after)];
    expect(new Set(old.map((r) => r.modelVersion))).toEqual(new Set(["v1"]));
    expect(new Set(fresh.map((r) => r.modelVersion))).toEqual(new Set(["v2"]));
    expect(engine.stats().batches).toBe(2);
    await engine.close();
  });

  it("under continuous concurrent load answers every request, in order per device, switching version exactly once", async () => {
    const engine = engineFor({ maxBatch: 16, maxWaitMs: 1 });
    engine.activate(await makeModel("v1", 1));
    const v2 = await makeModel("v2", 2);
    const submitted: Array<{ id: number; device: string; afterSwap: boolean }> = [];
    const resolved: Array<{ id: number; device: string; version: string }> = [];
    const all: Array<Promise<unknown>> = [];
    let swapped = false;
    for (let round = 0; round < 40; round++) {
      if (round === 20) {
        engine.activate(v2);
        swapped = true;
      }
      for (let k = 0; k < 25; k++) {
        const id = submitted.length;
        const device = devices[id % 5]!;
        submitted.push({ id, device, afterSwap: swapped });
        all.push(engine.predict({ device, window: windowOf(device, id) }).then((r) => resolved.push({ id, device, version: r.modelVersion })));
      }
      if (round % 3 === 0) await nextTick();
      else await Promise.resolve();
    }
    await Promise.all(all);
    expect(resolved).toHaveLength(1000);
    const versionsInRequestOrder = [...resolved].sort((a, b) => a.id - b.id).map((r) => r.version);
    const switches = versionsInRequestOrder.filter((v, i) => i > 0 && v !== versionsInRequestOrder[i - 1]).length;
    expect(switches).toBe(1);
    submitted.forEach((s) => expect(versionsInRequestOrder[s.id]).toBe(s.afterSwap ? "v2" : "v1"));
    for (const device of devices) {
      const order = resolved.filter((r) => r.device === device).map((r) => r.id);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(engine.stats().batches).toBeLessThan(1000 / 4);
    await engine.close();
  });

  it("keeps the previous model for rollback, and deactivates back to the baseline", async () => {
    const engine = engineFor();
    engine.activate(await makeModel("v1", 1));
    engine.activate(await makeModel("v2", 2));
    expect([engine.activeVersion(), engine.previousVersion()]).toEqual(["v2", "v1"]);
    expect(engine.rollback()).toEqual({ success: true, version: "v1", from: "v2" });
    expect((await engine.predict({ device: "d0", window: windowOf("d0", 1) })).modelVersion).toBe("v1");
    expect(engine.rollback()).toEqual({ success: false, reason: "NO_PREVIOUS" });
    engine.deactivate();
    expect((await engine.predict({ device: "d0", window: windowOf("d0", 1) })).modelVersion).toBe("baseline");
    expect(engine.rollback()).toMatchObject({ success: true, version: "v1", from: "baseline" });
    await engine.close();
  });

  it("refuses a model whose shape does not fit its meta, keeping the current one", async () => {
    const engine = engineFor();
    engine.activate(await makeModel("v1", 1));
    const bad = await makeModel("bad", 3);
    expect(() => engine.activate({ ...bad, meta: { ...bad.meta, window: 4 } })).toThrow(ActivationError);
    expect(engine.activeVersion()).toBe("v1");
    bad.model.dispose();
    await engine.close();
  });
});

describe("inference engine: memory", () => {
  it("leaks no tensors across predictions and swaps, and close() frees every model", async () => {
    const start = tf.memory().numTensors;
    const engine = engineFor({ maxBatch: 32 });
    const v1 = await makeModel("v1", 1);
    const v1Tensors = v1.model.weights.length;
    engine.activate(v1);
    const burst = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => engine.predict({ device: devices[i % 5]!, window: windowOf(devices[i % 5]!, i) })));
    await burst(50);
    const steady = tf.memory().numTensors;
    await burst(300);
    expect(tf.memory().numTensors).toBe(steady);
    const v2 = await makeModel("v2", 2);
    const v3 = await makeModel("v3", 3);
    const withThree = tf.memory().numTensors;
    engine.activate(v2);
    const pending = burst(100);
    engine.activate(v3); // v1 leaves both slots; it is disposed once its requests are answered
    await pending;
    await burst(100);
    expect(tf.memory().numTensors).toBe(withThree - v1Tensors);
    await engine.close();
    expect(tf.memory().numTensors).toBe(start);
  });
});
