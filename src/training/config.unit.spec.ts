import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../errors.ts";
import { loadTrainingConfig, parseTrainingConfig, trainingConfigPath } from "./config.ts";

const dir = mkdtempSync(join(tmpdir(), "tide-training-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("training config", () => {
  it("has defaults for everything, nested sections included", () => {
    const config = parseTrainingConfig({});
    expect(config).toMatchObject({ enabled: true, epochs: 20, window: 8, quantization: "none", split: { validation: 0.15, test: 0.15 } });
    expect(config.schedule).toEqual({ everyReadings: 0, everyMinutes: 60, checkSeconds: 10 });
    expect(config.drift.ratio).toBe(2);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("refuses bad values and unknown keys with every issue", () => {
    const error = (() => {
      try {
        parseTrainingConfig({ epochs: 0, quantization: "int4", schedule: { everyReadings: -1 }, epoch: 3 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const path of ["epochs", "quantization", "schedule.everyReadings", "epoch"]) expect(message).toContain(path);
  });

  it("reads <dir>/training.json when there is one, and says which file is wrong", () => {
    expect(loadTrainingConfig(dir).epochs).toBe(20);
    writeFileSync(trainingConfigPath(dir), JSON.stringify({ epochs: 3, schedule: { everyReadings: 100 } }));
    expect(loadTrainingConfig(dir)).toMatchObject({ epochs: 3, schedule: { everyReadings: 100, everyMinutes: 60 } });
    writeFileSync(trainingConfigPath(dir), "{ not json");
    expect(() => loadTrainingConfig(dir)).toThrow(/cannot read .*training\.json/);
    writeFileSync(trainingConfigPath(dir), JSON.stringify({ batchSize: "big" }));
    expect(() => loadTrainingConfig(dir)).toThrow(/training\.json are invalid: batchSize/);
  });
});
