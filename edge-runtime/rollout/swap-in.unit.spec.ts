import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.ts";
import { loadModelArtifact, serializeModel, type LoadedModel } from "../../src/model/artifact.ts";
import { computeStats } from "../../src/model/features.ts";
import { createForecastModel, disposeForecastModel } from "../../src/model/forecast-model.ts";
import { syntheticReadings } from "../../src/model/synthetic.ts";
import { createInferenceEngine } from "../inference/engine.ts";
import { ActivationError } from "../inference/model-slots.ts";
import { swapIn } from "./swap-in.ts";

const W = 8;
const stats = computeStats(syntheticReadings({ devices: ["d0"], perDevice: 40, seed: 3 }));

async function makeModel(version: string): Promise<LoadedModel> {
  const model = createForecastModel(tf, { window: W, seed: 1 });
  const bytes = await serializeModel(model, { version, normalisation: stats, window: W, residualStd: 0.25 });
  disposeForecastModel(model);
  return loadModelArtifact(tf, bytes);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("swapping a rolled-out model in", () => {
  it("a model whose warm-up fails is disposed: no tensor of it is left behind, and the current model keeps serving", async () => {
    const engine = createInferenceEngine({ tf, logger: silentLogger });
    swapIn(engine, await makeModel("v1"));
    const before = tf.memory().numTensors;
    const loaded = await makeModel("bad");
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    // Its meta says a window its input layer does not take: the warm-up prediction throws.
    expect(() => swapIn(engine, { ...loaded, meta: { ...loaded.meta, window: 4 } })).toThrow(ActivationError);
    expect(tf.memory().numTensors).toBe(before);
    expect(engine.activeVersion()).toBe("v1");
    await engine.close();
  });

  it("a model whose local copy cannot be kept is disposed, and never activated", async () => {
    const engine = createInferenceEngine({ tf, logger: silentLogger });
    const before = tf.memory().numTensors;
    const loaded = await makeModel("v3");
    const full = () => {
      throw new Error("ENOSPC: no space left on device");
    };
    expect(() => swapIn(engine, loaded, full)).toThrow(/ENOSPC/);
    expect(tf.memory().numTensors).toBe(before);
    expect(engine.activeVersion()).toBe("baseline");
    await engine.close();
  });

  it("a model the engine takes is the engine's: swapping it in disposes nothing", async () => {
    const engine = createInferenceEngine({ tf, logger: silentLogger });
    const before = tf.memory().numTensors;
    const loaded = await makeModel("v2");
    const held = tf.memory().numTensors;
    expect(swapIn(engine, loaded)).toEqual({ version: "v2", previousVersion: "baseline" });
    expect(tf.memory().numTensors).toBe(held);
    await engine.close();
    expect(tf.memory().numTensors).toBe(before);
  });
});
