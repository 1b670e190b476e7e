import type { Tensor } from "@tensorflow/tfjs";
import { errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import type { LoadedModel } from "../../src/model/artifact.ts";
import type { Tf } from "../../src/model/backend.ts";
import { inputSize, normaliser, type Normaliser } from "../../src/model/features.ts";
import { BASELINE_VERSION } from "./baseline.ts";

/** A model in service: what requests are bound to at admission. */
export interface ModelEntry {
  readonly loaded: LoadedModel;
  readonly version: string;
  /** Readings per input window (W). */
  readonly window: number;
  readonly norm: Normaliser;
  /** Requests bound to this entry and not answered yet. */
  pending: number;
  retired: boolean;
}

/** A model refused at activation (wrong shape, non-finite output ...); the current model stays. */
export class ActivationError extends Error {
  readonly version: string;
  constructor(version: string, message: string, options?: { cause?: unknown }) {
    super(`model ${version} cannot be activated: ${message}`, options);
    this.name = "ActivationError";
    this.version = version;
  }
}

export type RollbackResult = { success: true; version: string; from: string } | { success: false; reason: "NO_PREVIOUS" };

/**
 * The current and previous model of an engine. A model that leaves both slots
 * is disposed once the requests bound to it are answered, so a swap never
 * pulls a model from under an in-flight batch.
 */
export function createModelSlots(deps: { tf: Tf; logger: Logger }) {
  const { tf, logger } = deps;
  let current: ModelEntry | undefined;
  let previous: ModelEntry | undefined;
  const live = new Map<LoadedModel, ModelEntry>();

  function disposeIfIdle(entry: ModelEntry): void {
    if (!entry.retired || entry.pending > 0 || entry === current || entry === previous) return;
    live.delete(entry.loaded);
    entry.loaded.model.dispose();
    logger.debug({ version: entry.version }, "model disposed");
  }

  function retire(entry: ModelEntry | undefined): void {
    if (!entry) return;
    entry.retired = true;
    disposeIfIdle(entry);
  }

  /** One prediction on a neutral window: compiles kernels and proves the shapes before traffic sees the model. */
  function warmUp(loaded: LoadedModel): void {
    const width = inputSize(loaded.meta.window);
    let out: Tensor | undefined;
    try {
      out = tf.tidy(() => loaded.model.predict(tf.zeros([2, width])) as Tensor);
      if (out.shape.length !== 2 || out.shape[0] !== 2 || out.shape[1] !== 1) throw new Error(`output shape ${JSON.stringify(out.shape)}, expected [2,1]`);
      if (!Array.from(out.dataSync()).every(Number.isFinite)) throw new Error("output is not finite");
    } catch (error) {
      throw new ActivationError(loaded.version, errorMessage(error), { cause: error });
    } finally {
      out?.dispose();
    }
  }

  return {
    /** The model new requests are bound to; `undefined` = baseline. Increments its pending count. */
    acquire(): ModelEntry | undefined {
      if (current) current.pending++;
      return current;
    },
    /** `count` requests bound to `entry` are answered. */
    release(entry: ModelEntry, count: number): void {
      entry.pending -= count;
      disposeIfIdle(entry);
    },
    /**
     * Makes `loaded` current (after a warm-up). The engine now owns it and disposes it when it is
     * neither current nor previous and idle; if activation throws, the caller still owns it.
     */
    activate(loaded: LoadedModel): { version: string; previousVersion: string } {
      const from = current;
      if (from?.loaded === loaded) return { version: from.version, previousVersion: previous?.version ?? BASELINE_VERSION };
      let entry = live.get(loaded);
      if (!entry) {
        warmUp(loaded);
        entry = { loaded, version: loaded.version, window: loaded.meta.window, norm: normaliser(loaded.meta.normalisation), pending: 0, retired: false };
        live.set(loaded, entry);
      }
      entry.retired = false;
      // From the baseline, the last model stays the rollback target.
      const keep = from ?? (previous === entry ? undefined : previous);
      const dropped = from && previous !== entry ? previous : undefined;
      current = entry;
      previous = keep;
      retire(dropped);
      logger.info({ version: entry.version, previousVersion: from?.version ?? BASELINE_VERSION }, "model activated");
      return { version: entry.version, previousVersion: from?.version ?? BASELINE_VERSION };
    },
    /** Back to the baseline; the current model becomes the previous one (rollback re-activates it). */
    deactivate(): void {
      if (!current) return;
      const dropped = previous;
      previous = current;
      current = undefined;
      retire(dropped);
      logger.info({ previousVersion: previous.version }, "model deactivated; baseline active");
    },
    /** Re-activates the previous model and discards the current one. */
    rollback(): RollbackResult {
      if (!previous) return { success: false, reason: "NO_PREVIOUS" };
      const from = current;
      current = previous;
      previous = undefined;
      retire(from);
      logger.warn({ version: current.version, from: from?.version ?? BASELINE_VERSION }, "model rolled back");
      return { success: true, version: current.version, from: from?.version ?? BASELINE_VERSION };
    },
    activeVersion: (): string => current?.version ?? BASELINE_VERSION,
    previousVersion: (): string | undefined => previous?.version,
    /** Window length requests need for the current model: W + 1 (W to predict, one more to score the last reading). */
    requiredWindow: (): number => (current ? current.window + 1 : 1),
    /** Disposes every model (call after the engine has drained). */
    disposeAll(): void {
      for (const entry of live.values()) entry.loaded.model.dispose();
      live.clear();
      current = previous = undefined;
    },
  };
}
export type ModelSlots = ReturnType<typeof createModelSlots>;
