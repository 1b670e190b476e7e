import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.ts";
import { parseRolloutSettings } from "./config.ts";
import { DEFAULT_CRITERIA } from "./types.ts";

describe("rollout settings (rollout.json)", () => {
  it("defaults to no automatic rollouts, one canary and the default criteria; overrides merge", () => {
    expect(parseRolloutSettings({})).toEqual({ auto: "off", canaries: 1, criteria: DEFAULT_CRITERIA });
    expect(parseRolloutSettings({ auto: "canary", criteria: { maxErrorRatio: 2 } }).criteria).toEqual({ ...DEFAULT_CRITERIA, maxErrorRatio: 2 });
  });

  it("refuses unknown keys and bad values with every issue, naming the file", () => {
    const bad = () => parseRolloutSettings({ auto: "sometimes", canaries: 0, criteria: { maxErrorRatio: -1, typo: 1 } }, "/x/rollout.json");
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/\/x\/rollout\.json are invalid: .*auto.*canaries.*maxErrorRatio.*typo/s);
    expect(() => parseRolloutSettings({ autoo: "all" })).toThrow(/autoo/);
  });
});
