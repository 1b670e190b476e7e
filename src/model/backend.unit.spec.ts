import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.ts";
import { silentLogger } from "../log.ts";
import { createBackendSelector } from "./backend.ts";

const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve("@tensorflow/tfjs-node");
    return true;
  } catch {
    return false;
  }
})();

const logger = silentLogger;

describe("backend selection", () => {
  it("honours an override, reports it, and memoises the choice", async () => {
    const selector = createBackendSelector();
    expect(selector.current()).toBeUndefined();
    const first = await selector.select({ logger, override: "cpu", env: {} });
    expect(first.backend).toBe("cpu");
    expect(first.tf.getBackend()).toBe("cpu");
    expect(selector.current()).toBe("cpu");
    expect(await selector.select({ logger, env: {} })).toBe(first);
  });

  it("refuses to switch to another forced backend once chosen", async () => {
    const selector = createBackendSelector();
    await selector.select({ logger, override: "cpu", env: {} });
    await expect(selector.select({ logger, override: "wasm", env: {} })).rejects.toThrow(/already chosen .*'cpu'.*'wasm'/);
  });

  it("reads TIDE_TF_BACKEND, and the override wins over it", async () => {
    expect((await createBackendSelector().select({ logger, env: { TIDE_TF_BACKEND: "wasm" } })).backend).toBe("wasm");
    expect((await createBackendSelector().select({ logger, override: "cpu", env: { TIDE_TF_BACKEND: "wasm" } })).backend).toBe("cpu");
  });

  it("rejects an unknown TIDE_TF_BACKEND with the allowed values", async () => {
    const attempt = createBackendSelector().select({ logger, env: { TIDE_TF_BACKEND: "webgpu" } });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/TIDE_TF_BACKEND='webgpu' .* tensorflow, wasm, cpu/);
  });

  it.skipIf(tfjsNodeInstalled)("fails clearly when the forced backend cannot load, and lets a later call retry", async () => {
    const selector = createBackendSelector();
    await expect(selector.select({ logger, override: "tensorflow", env: {} })).rejects.toThrow(/backend 'tensorflow' was forced .* cannot load/);
    expect(selector.current()).toBeUndefined();
    expect((await selector.select({ logger, override: "cpu", env: {} })).backend).toBe("cpu");
  });

  it.skipIf(tfjsNodeInstalled)("falls back from tensorflow to wasm when tfjs-node is absent", async () => {
    const selection = await createBackendSelector().select({ logger, env: {} });
    expect(selection.backend).toBe("wasm");
    expect(selection.skipped.map((s) => s.backend)).toEqual(["tensorflow"]);
  });
});
