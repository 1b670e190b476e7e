import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError, errorMessage } from "../../src/errors.ts";

const CachedModel = z.object({ version: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().positive(), rolloutId: z.string().optional() });
export type CachedModel = z.infer<typeof CachedModel>;

/** What this edge has done about each rollout, so a restart neither repeats nor forgets it. */
export const RolloutStep = z.enum(["activated", "failed", "observed", "reverted"]);
export type RolloutStep = z.infer<typeof RolloutStep>;

const CacheState = z.object({
  /** The model to serve after a restart (absent: the baseline). */
  active: CachedModel.optional(),
  /** The one before it: what a rollback returns to (absent: the baseline). */
  previous: CachedModel.optional(),
  rollouts: z.record(z.string(), RolloutStep).default({}),
});
export type CacheState = z.infer<typeof CacheState>;

/**
 * The edge's local model store (`<dir>/edge-<id>/models/`): the artifacts it
 * activated, and `state.json` saying which one is active, which one came
 * before, and how far each rollout got here. It is what lets an edge restart
 * offline on the model it last ran, and roll back without the cloud.
 */
export function openModelCache(dir: string) {
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, "state.json");
  let state: CacheState = { rollouts: {} };
  if (existsSync(statePath)) {
    try {
      state = CacheState.parse(JSON.parse(readFileSync(statePath, "utf8")));
    } catch (error) {
      throw new ConfigError(`edge model state ${statePath} is unreadable: ${errorMessage(error)}; move it away to start from the baseline`, { cause: error });
    }
  }
  const save = () => {
    const tmp = `${statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 2));
    renameSync(tmp, statePath);
  };
  const fileOf = (version: string, sha256: string) => join(dir, `${version}-${sha256.slice(0, 12)}.tide-model`);

  return {
    state: (): Readonly<CacheState> => state,
    /** The stored artifact of `model`, if this edge has it. */
    read(model: CachedModel): Uint8Array | undefined {
      const path = fileOf(model.version, model.sha256);
      return existsSync(path) ? readFileSync(path) : undefined;
    },
    /** Keeps verified artifact bytes (before activation: a crash after it still has them). */
    store(model: CachedModel, bytes: Uint8Array): void {
      const path = fileOf(model.version, model.sha256);
      writeFileSync(`${path}.tmp`, bytes);
      renameSync(`${path}.tmp`, path);
    },
    /** `model` is active now; the one active before becomes the previous one. */
    activated(model: CachedModel | undefined, previous: CachedModel | undefined): void {
      state = { ...state, ...(model ? { active: model } : {}), ...(previous ? { previous } : {}) };
      if (!model) delete state.active;
      if (!previous) delete state.previous;
      save();
    },
    step(rolloutId: string): RolloutStep | undefined {
      return state.rollouts[rolloutId];
    },
    record(rolloutId: string, step: RolloutStep): void {
      state = { ...state, rollouts: { ...state.rollouts, [rolloutId]: step } };
      save();
    },
  };
}
export type ModelCache = ReturnType<typeof openModelCache>;
