import type { LoadedModel } from "../../src/model/artifact.ts";
import type { InferenceEngine } from "../inference/engine.ts";

/**
 * Hot-swaps a freshly loaded model in, after `prepare` (e.g. keeping its
 * local copy). The engine owns a model only once `activate` returns; when
 * `prepare` throws or the engine refuses the model (its warm-up failed) it is
 * still ours, and its tensors would leak on every failed rollout, so it is
 * disposed before the error goes on.
 */
export function swapIn(engine: Pick<InferenceEngine, "activate">, loaded: LoadedModel, prepare?: () => void): { version: string; previousVersion: string } {
  try {
    prepare?.();
    return engine.activate(loaded);
  } catch (error) {
    loaded.model.dispose();
    throw error;
  }
}
