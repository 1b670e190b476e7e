import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../errors.ts";
import { loadModelArtifact, readArtifact, serializeModel, sha256, type ModelMeta } from "./artifact.ts";
import { buildWindows, computeStats } from "./features.ts";
import { createForecastModel, predictTemperatures, trainForecastModel } from "./forecast-model.ts";
import { syntheticReadings } from "./synthetic.ts";

const W = 8;
const readings = syntheticReadings({ devices: ["a", "b"], perDevice: 120, seed: 7 });
const stats = computeStats(readings);
const windows = buildWindows(readings, W, stats);
const meta: ModelMeta = { version: "v1", normalisation: stats, window: W, residualStd: 0.2, labels: { runId: "r1" } };
const sample = windows.inputs.slice(0, 32);

let model: tf.Sequential;

beforeAll(async () => {
  await tf.setBackend("cpu");
  model = createForecastModel(tf, { window: W, seed: 3 });
  await trainForecastModel(tf, model, { inputs: windows.inputs, targets: windows.targets, epochs: 2, batchSize: 64 });
});

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe("model artifact", () => {
  it("round-trips with identical predictions and meta ('none')", async () => {
    const bytes = await serializeModel(model, meta, { createdAt: new Date("2024-06-01T00:00:00Z") });
    const loaded = await loadModelArtifact(tf, bytes);
    expect(predictTemperatures(tf, loaded.model, sample, stats)).toEqual(predictTemperatures(tf, model, sample, stats));
    expect(loaded.meta).toMatchObject({ ...meta, quantization: "none", format: "tide-model/1", createdAt: "2024-06-01T00:00:00.000Z" });
    expect(loaded).toMatchObject({ version: "v1", sha256: sha256(bytes), size: bytes.byteLength });
    expect(sha256(bytes)).toMatch(/^[0-9a-f]{64}$/);
    loaded.model.dispose();
  });

  it("is deterministic: same model, meta and time give the same bytes", async () => {
    const createdAt = new Date(0);
    expect(sha256(await serializeModel(model, meta, { createdAt }))).toBe(sha256(await serializeModel(model, meta, { createdAt })));
  });

  it.each([
    ["float16", 0.01, 0.6],
    ["uint8", 0.15, 0.35],
  ] as const)("quantised %s is smaller and predicts within %s °C", async (quantization, tolerance, sizeRatio) => {
    const full = await serializeModel(model, meta);
    const bytes = await serializeModel(model, meta, { quantization });
    const { header } = readArtifact(bytes);
    expect(header.weightsByteLength).toBeLessThan(readArtifact(full).header.weightsByteLength * sizeRatio);
    expect(bytes.byteLength).toBeLessThan(full.byteLength);
    const loaded = await loadModelArtifact(tf, bytes);
    expect(loaded.meta.quantization).toBe(quantization);
    const diff = maxDiff(predictTemperatures(tf, loaded.model, sample, stats), predictTemperatures(tf, model, sample, stats));
    expect(diff).toBeLessThan(tolerance);
    loaded.model.dispose();
  });

  describe("refuses corrupt bytes with a clear ValidationError", () => {
    let good: Uint8Array;
    beforeAll(async () => {
      good = await serializeModel(model, meta);
    });
    const headerLength = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(4, true);
    const cases: Array<[string, (b: Uint8Array) => Uint8Array, RegExp]> = [
      ["empty", () => new Uint8Array(0), /shorter than the 8-byte prefix/],
      ["wrong magic", (b) => Object.assign(b.slice(), { 0: 0x50 }), /magic/],
      ["truncated", (b) => b.slice(0, 100), /header length .* does not fit/],
      ["weights cut short", (b) => b.slice(0, b.byteLength - 4), /weights are .* bytes, header says/],
      ["flipped weight byte", (b) => { const c = b.slice(); c[c.byteLength - 3]! ^= 0xff; return c; }, /SHA-256/],
      ["header not JSON", (b) => { const c = b.slice(); c[8] = 0x7b; c[9] = 0x7b; return c; }, /not UTF-8 JSON/],
      ["header of the wrong shape", (b) => {
        const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + headerLength(b))));
        const json = new TextEncoder().encode(JSON.stringify({ ...header, format: "other/2", window: -1 }));
        const c = new Uint8Array(8 + json.byteLength + (b.byteLength - 8 - headerLength(b)));
        c.set(b.subarray(0, 8)); new DataView(c.buffer).setUint32(4, json.byteLength, true);
        c.set(json, 8); c.set(b.subarray(8 + headerLength(b)), 8 + json.byteLength);
        return c;
      }, /invalid header: .*format.*window|invalid header: .*window.*format/],
    ];
    it.each(cases)("%s", async (_name, mutate, message) => {
      const error = await loadModelArtifact(tf, mutate(good)).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/^corrupt model artifact: /);
      expect((error as Error).message).toMatch(message);
    });
  });
});
