import * as tf from "@tensorflow/tfjs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../src/errors.ts";
import { serializeModel, sha256 } from "../../src/model/artifact.ts";
import { createForecastModel, disposeForecastModel } from "../../src/model/forecast-model.ts";
import { IntegrityError, loadModelFromFile } from "./model-source.ts";

const stats = { temperature: { mean: 20, std: 2 }, humidity: { mean: 50, std: 10 } };
let bytes: Uint8Array;
let digest: string;
let dir: string;

beforeAll(async () => {
  await tf.setBackend("cpu");
  const model = createForecastModel(tf, { window: 4, seed: 1 });
  bytes = await serializeModel(model, { version: "m-7", normalisation: stats, window: 4, residualStd: 0.3 });
  disposeForecastModel(model);
  digest = sha256(bytes);
  dir = await mkdtemp(join(tmpdir(), "tide-model-source-"));
  await writeFile(join(dir, "m-7.tide"), bytes);
  await writeFile(join(dir, "junk.tide"), new TextEncoder().encode("not a model"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("loadModelFromFile", () => {
  it("loads and identifies the artifact, verifying what is expected", async () => {
    const loaded = await loadModelFromFile(tf, join(dir, "m-7.tide"), { sha256: digest, size: bytes.byteLength, version: "m-7" });
    expect(loaded).toMatchObject({ version: "m-7", sha256: digest, size: bytes.byteLength });
    expect(loaded.meta.window).toBe(4);
    loaded.model.dispose();
  });

  it.each([
    ["sha256", { sha256: "0".repeat(64) }, /sha256 is [0-9a-f]{64}, expected 0{64}/],
    ["size", { size: 12 }, /size is \d+ bytes, expected 12/],
    ["version", { version: "m-8" }, /carries version m-7, expected m-8/],
  ])("refuses a %s that does not match", async (_what, expected, message) => {
    const error = await loadModelFromFile(tf, join(dir, "m-7.tide"), expected).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(message);
  });

  it("says when the file is missing or is not a model", async () => {
    await expect(loadModelFromFile(tf, join(dir, "none.tide"))).rejects.toBeInstanceOf(NotFoundError);
    const error = await loadModelFromFile(tf, join(dir, "junk.tide")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^corrupt model artifact/);
  });
});
