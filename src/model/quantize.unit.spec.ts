import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { float16Bits, quantizeWeights, weightsByteLength } from "./quantize.ts";

describe("float16Bits", () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [70000, 0x7c00],
    [Infinity, 0x7c00],
    [-0, 0x8000],
    [2 ** -24, 0x0001],
    [1e-9, 0x0000],
    [1 + 2 ** -11, 0x3c00], // halfway: ties to even
    [1 + 3 * 2 ** -11, 0x3c02],
  ])("%s → 0x%s", (value, bits) => {
    expect(float16Bits(value)).toBe(bits);
  });

  it("keeps NaN a NaN", () => {
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x3ff).not.toBe(0);
  });
});

describe("quantizeWeights", () => {
  const specs = [
    { name: "k", shape: [2, 3], dtype: "float32" as const },
    { name: "i", shape: [2], dtype: "int32" as const },
    { name: "b", shape: [3], dtype: "float32" as const },
  ];
  const floats = [0.5, -1.25, 3, 0, 2.75, -0.125];
  const data = new Uint8Array([...new Uint8Array(new Float32Array(floats).buffer), ...new Uint8Array(new Int32Array([7, -9]).buffer), ...new Uint8Array(new Float32Array([1, 1, 1]).buffer)]).buffer;

  it.each(["float16", "uint8"] as const)("%s decodes back through tfjs's own decodeWeights", (mode) => {
    const q = quantizeWeights(specs, data, mode);
    expect(q.data.byteLength).toBe(weightsByteLength(q.specs));
    expect(q.specs[1]!.quantization).toBeUndefined();
    const decoded = tf.io.decodeWeights(q.data.slice().buffer, q.specs);
    const k = Array.from(decoded.k!.dataSync());
    k.forEach((v, i) => expect(v).toBeCloseTo(floats[i]!, mode === "float16" ? 3 : 1));
    expect(Array.from(decoded.i!.dataSync())).toEqual([7, -9]);
    expect(Array.from(decoded.b!.dataSync())).toEqual([1, 1, 1]);
    Object.values(decoded).forEach((t) => t.dispose());
  });

  it("'none' copies the bytes unchanged", () => {
    const q = quantizeWeights(specs, data, "none");
    expect(Array.from(q.data)).toEqual(Array.from(new Uint8Array(data)));
    expect(weightsByteLength(q.specs)).toBe(data.byteLength);
  });
});
