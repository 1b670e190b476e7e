import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { formatIssues } from "../events/catalogue.ts";
import { RolloutCriteria } from "../events/rollout.ts";
import { DEFAULT_CRITERIA } from "./types.ts";

/**
 * The rollout controller's settings (`<dir>/rollout.json`, all optional):
 * the automatic policy after each `model.published`, the canary stage size,
 * and the default success criteria. Unknown keys are refused.
 */
export const RolloutSettings = z.strictObject({
  auto: z.enum(["off", "canary", "all"]).default("off"),
  canaries: z.number().int().positive().default(1),
  criteria: RolloutCriteria.partial().strict().default({}),
});
export type RolloutSettingsInput = z.input<typeof RolloutSettings>;

export function parseRolloutSettings(input: unknown, source = "rollout settings") {
  const parsed = RolloutSettings.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(`${source} are invalid: ${formatIssues(parsed.error).join("; ")}`);
  const { auto, canaries, criteria } = parsed.data;
  return Object.freeze({ auto, canaries, criteria: { ...DEFAULT_CRITERIA, ...criteria } });
}

export function rolloutSettingsPath(dir: string): string {
  return join(dir, "rollout.json");
}

/** `<dir>/rollout.json` if present, else the defaults (no automatic rollouts). */
export function loadRolloutSettings(dir: string) {
  const path = rolloutSettingsPath(dir);
  if (!existsSync(path)) return parseRolloutSettings({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseRolloutSettings(raw, path);
}
