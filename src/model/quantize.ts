import type { io } from "@tensorflow/tfjs";

/** How weights are stored in an artifact; `none` keeps float32 bytes exactly. */
export type Quantization = "none" | "float16" | "uint8";
export const QUANTIZATIONS = ["none", "float16", "uint8"] as const satisfies readonly Quantization[];

type WeightSpec = io.WeightsManifestEntry;

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** IEEE 754 binary32 → binary16 bits, rounding to nearest even (what tfjs's float16 decoder reverses). */
export function float16Bits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit into place.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return half;
}

function toFloat16(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]!);
  return new Uint8Array(out.buffer);
}

/** Affine uint8: value ≈ q·scale + min, as tfjs's `decodeWeights` dequantises. */
function toUint8(values: Float32Array): { bytes: Uint8Array; scale: number; min: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) return { bytes: new Uint8Array(0), scale: 1, min: 0 };
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round((values[i]! - min) / scale)));
  return { bytes, scale, min };
}

const BYTES_PER_VALUE: Record<WeightSpec["dtype"], number> = { float32: 4, int32: 4, bool: 1, string: 0, complex64: 8 };

function elements(spec: WeightSpec): number {
  return spec.shape.reduce((n, d) => n * d, 1);
}

/**
 * Quantises the float32 weights of a tfjs weight manifest. Returns new specs
 * carrying tfjs's `quantization` fields (so `tf.io.decodeWeights` and
 * `loadLayersModel` dequantise on load) and the new weight bytes. Weights
 * that are not float32 are copied unchanged.
 */
export function quantizeWeights(specs: readonly WeightSpec[], data: ArrayBuffer, mode: Quantization): { specs: WeightSpec[]; data: Uint8Array } {
  if (mode === "none") return { specs: specs.map((s) => ({ ...s })), data: new Uint8Array(data.slice(0)) };
  const chunks: Uint8Array[] = [];
  const out: WeightSpec[] = [];
  let offset = 0;
  for (const spec of specs) {
    if (spec.quantization) throw new Error(`weight ${spec.name} is already quantised`);
    const byteLength = elements(spec) * BYTES_PER_VALUE[spec.dtype];
    if (spec.dtype === "string" || offset + byteLength > data.byteLength) throw new Error(`cannot quantise weight ${spec.name} (${spec.dtype}, ${byteLength} bytes at ${offset})`);
    const raw = data.slice(offset, offset + byteLength);
    offset += byteLength;
    if (spec.dtype !== "float32") {
      chunks.push(new Uint8Array(raw));
      out.push({ ...spec });
      continue;
    }
    const values = new Float32Array(raw);
    if (mode === "float16") {
      chunks.push(toFloat16(values));
      out.push({ ...spec, quantization: { dtype: "float16" } });
    } else {
      const { bytes, scale, min } = toUint8(values);
      chunks.push(bytes);
      out.push({ ...spec, quantization: { dtype: "uint8", scale, min } });
    }
  }
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  return { specs: out, data: joined };
}

/** Bytes a manifest's weights occupy, honouring quantisation (to check an artifact's weight section). */
export function weightsByteLength(specs: readonly WeightSpec[]): number {
  return specs.reduce((n, spec) => {
    const perValue = spec.quantization ? (spec.quantization.dtype === "uint8" ? 1 : 2) : BYTES_PER_VALUE[spec.dtype];
    return n + elements(spec) * perValue;
  }, 0);
}
