import type { LayersModel, io } from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { z } from "zod";
import { ValidationError, errorMessage } from "../errors.ts";
import type { Tf } from "./backend.ts";
import { NormalisationStats, inputSize } from "./features.ts";
import { QUANTIZATIONS, quantizeWeights, weightsByteLength, type Quantization } from "./quantize.ts";

/**
 * The artifact container, `tide-model/1`:
 *
 *   bytes 0..3   magic "TIDE"
 *   bytes 4..7   header length N, uint32 little-endian
 *   bytes 8..8+N header, UTF-8 JSON (ArtifactHeader)
 *   the rest     weight bytes, exactly `weightsByteLength` of them
 *
 * One self-contained file: tfjs layers topology and weight manifest, weights,
 * normalisation statistics and what the edge needs to score anomalies.
 */
export const ARTIFACT_FORMAT = "tide-model/1";
const MAGIC = [0x54, 0x49, 0x44, 0x45] as const; // "TIDE"
const PREFIX_BYTES = 8;
/** A header larger than this is not a Tide model: refuse before decoding it. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const WeightSpec = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(["float32", "int32", "bool"]),
  group: z.enum(["model", "optimizer"]).optional(),
  quantization: z.object({ dtype: z.enum(["uint8", "uint16", "float16"]), scale: z.number().optional(), min: z.number().optional() }).optional(),
});

/** What a model carries besides its network. */
export const ModelMeta = z.object({
  version: z.string().min(1),
  normalisation: NormalisationStats,
  /** Readings per input window (W). */
  window: z.number().int().positive(),
  /** Std of (actual − predicted next temperature) on held-out data, °C; divides anomaly scores. */
  residualStd: z.number().positive(),
  /** Free-form lineage (run id, dataset hash, parent version ...). */
  labels: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type ModelMeta = z.infer<typeof ModelMeta>;

export const ArtifactHeader = ModelMeta.extend({
  format: z.literal(ARTIFACT_FORMAT),
  modelTopology: z.record(z.string(), z.unknown()),
  weightSpecs: z.array(WeightSpec),
  quantization: z.enum(QUANTIZATIONS),
  createdAt: z.iso.datetime({ offset: true }),
  weightsByteLength: z.number().int().nonnegative(),
  weightsSha256: Hex64,
});
export type ArtifactHeader = z.infer<typeof ArtifactHeader>;

/** The metadata of a loaded artifact: `ModelMeta` plus how it was stored. */
export type ArtifactMeta = Omit<ArtifactHeader, "modelTopology" | "weightSpecs" | "weightsByteLength" | "weightsSha256">;

/** A model ready to predict, with what identifies it. The holder owns `model` (dispose it when done). */
export interface LoadedModel {
  model: LayersModel;
  meta: ArtifactMeta;
  version: string;
  /** SHA-256 of the whole artifact, hex. */
  sha256: string;
  /** Artifact size in bytes. */
  size: number;
}

/** Hex SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface SerializeOptions {
  quantization?: Quantization;
  /** Defaults to now. */
  createdAt?: Date;
}

function joinWeightData(data: io.WeightData): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const out = new Uint8Array(data.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const buffer of data) {
    out.set(new Uint8Array(buffer), at);
    at += buffer.byteLength;
  }
  return out.buffer;
}

/**
 * Serialises a layers model and its meta into one `tide-model/1` artifact.
 * A custom tfjs save handler (what `tf.io.withSaveHandler` builds) captures the
 * layers-format topology and weights in memory: no filesystem involved, and no
 * `tf` needed, so it works with a model from any tfjs instance.
 */
export async function serializeModel(model: LayersModel, meta: ModelMeta, options: SerializeOptions = {}): Promise<Uint8Array> {
  const { quantization = "none", createdAt = new Date() } = options;
  const parsedMeta = ModelMeta.parse(meta);
  let captured: io.ModelArtifacts | undefined;
  const handler: io.IOHandler = {
    save: async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    },
  };
  await model.save(handler);
  if (!captured?.modelTopology || captured.modelTopology instanceof ArrayBuffer || !captured.weightSpecs || !captured.weightData) {
    throw new Error("model.save produced no JSON topology or weights; only tfjs layers models can be serialised");
  }
  const raw = joinWeightData(captured.weightData);
  const weights = quantizeWeights(captured.weightSpecs, raw, quantization);
  const header: ArtifactHeader = {
    format: ARTIFACT_FORMAT,
    ...parsedMeta,
    modelTopology: captured.modelTopology as Record<string, unknown>,
    weightSpecs: WeightSpec.array().parse(weights.specs),
    quantization,
    createdAt: createdAt.toISOString(),
    weightsByteLength: weights.data.byteLength,
    weightsSha256: sha256(weights.data),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX_BYTES + json.byteLength + weights.data.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, json.byteLength, true);
  out.set(json, PREFIX_BYTES);
  out.set(weights.data, PREFIX_BYTES + json.byteLength);
  return out;
}

function corrupt(message: string, issues: string[] = [], cause?: unknown): ValidationError {
  return new ValidationError(`corrupt model artifact: ${message}`, issues, cause === undefined ? undefined : { cause });
}

/** Reads and checks the container: header validated with zod, weight bytes counted and hashed. */
export function readArtifact(bytes: Uint8Array): { header: ArtifactHeader; weights: Uint8Array } {
  if (bytes.byteLength < PREFIX_BYTES) throw corrupt(`${bytes.byteLength} bytes is shorter than the ${PREFIX_BYTES}-byte prefix`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw corrupt("it does not start with the 'TIDE' magic (not a tide-model/1 artifact)");
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (headerLength > MAX_HEADER_BYTES || PREFIX_BYTES + headerLength > bytes.byteLength) {
    throw corrupt(`header length ${headerLength} does not fit in ${bytes.byteLength} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (error) {
    throw corrupt(`header is not UTF-8 JSON (${errorMessage(error)})`, [], error);
  }
  const parsed = ArtifactHeader.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(header)"}: ${i.message}`);
    throw corrupt(`invalid header: ${issues.join("; ")}`, issues);
  }
  const header = parsed.data;
  const weights = bytes.subarray(PREFIX_BYTES + headerLength);
  if (weights.byteLength !== header.weightsByteLength) throw corrupt(`weights are ${weights.byteLength} bytes, header says ${header.weightsByteLength}`);
  if (weightsByteLength(header.weightSpecs) !== header.weightsByteLength) throw corrupt("weight manifest does not add up to the weight bytes");
  if (sha256(weights) !== header.weightsSha256) throw corrupt("weight bytes do not match their SHA-256 in the header");
  return { header, weights };
}

function checkShape(model: LayersModel, window: number): void {
  const input = model.inputs[0]?.shape;
  const output = model.outputs[0]?.shape;
  if (model.inputs.length !== 1 || input?.length !== 2 || input[1] !== inputSize(window)) {
    throw corrupt(`model input shape ${JSON.stringify(input)} does not fit window ${window} (expected [null, ${inputSize(window)}])`);
  }
  if (model.outputs.length !== 1 || output?.length !== 2 || output[1] !== 1) throw corrupt(`model output shape ${JSON.stringify(output)} is not [null, 1]`);
}

/** Loads an artifact into a model on `tf`'s backend; a `ValidationError` says what is wrong with bad bytes. */
export async function loadModelArtifact(tf: Tf, bytes: Uint8Array): Promise<LoadedModel> {
  const { header, weights } = readArtifact(bytes);
  const { modelTopology, weightSpecs, weightsByteLength: _length, weightsSha256: _sha, ...meta } = header;
  let model: LayersModel;
  try {
    // A copy into a fresh ArrayBuffer: on a Node Buffer (readFile) `slice()` is a view, and its `.buffer` is the whole file (or a shared pool).
    const weightData = new Uint8Array(weights).buffer;
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs: weightSpecs as io.WeightsManifestEntry[], weightData }));
  } catch (error) {
    throw corrupt(`tfjs cannot build the model: ${errorMessage(error)}`, [], error);
  }
  try {
    checkShape(model, meta.window);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, meta, version: meta.version, sha256: sha256(bytes), size: bytes.byteLength };
}
