import { aggregateKind } from "./aggregate.ts";
import { batchInferenceKind } from "./batch-inference.ts";
import type { TaskKind } from "./registry.ts";
import { retrainKind } from "./retrain.ts";

export * from "./registry.ts";

/** The kinds Tide ships: batch inference and aggregation over a stream range, and retraining. */
export const BUILT_IN_KINDS: readonly TaskKind[] = [batchInferenceKind, aggregateKind, retrainKind];

/** Kinds an edge runtime runs by default: the ones that read data where it lies. */
export const EDGE_KINDS = ["batch_inference", "aggregate"] as const;

/** The built-in kind of that name, if it is one. */
export function builtInKind(name: string): TaskKind | undefined {
  return BUILT_IN_KINDS.find((k) => k.kind === name);
}
