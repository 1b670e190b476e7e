import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../errors.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { Tf } from "../model/backend.ts";
import { readStream } from "../store/read-stream.ts";
import type { ProductionInfo } from "../training/drift-monitor.ts";
import { createModelBook, type PublishedModel } from "../training/model-book.ts";
import type { InferenceEngine } from "../../edge-runtime/inference/engine.ts";
import { loadModelFromObjectStore } from "../../edge-runtime/inference/model-source.ts";

/** What the production-model follower needs. */
export interface ProductionModelOptions {
  nc: NatsConnection;
  tf: Tf;
  /** The cloud engine (the joint-inference responder predicts with it). */
  engine: InferenceEngine;
  logger: Logger;
}

/**
 * Keeps the cloud engine on the production model: follows MODELS, and
 * whenever it has caught up with a newer `model.published` than the one
 * active, loads that artifact from the Object Store (size, SHA-256 and
 * version verified) and hot-swaps it in. In-flight offload answers finish on
 * the old model. A model that cannot be loaded is logged and the current one
 * stays; a later publication is tried as usual.
 */
export function startProductionModel(options: ProductionModelOptions) {
  const { nc, tf, engine, logger } = options;
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const book = createModelBook();
  const controller = new AbortController();
  let active: { published: PublishedModel; window: number } | undefined;
  let tried: string | undefined;

  async function activateLatest(): Promise<void> {
    const latest = book.production();
    if (!latest || latest.version === tried) return;
    tried = latest.version;
    const { bucket, name, digest } = latest.artifact;
    try {
      const loaded = await loadModelFromObjectStore(tf, js, bucket, name, { sha256: digest.sha256, size: digest.size, version: latest.version });
      try {
        engine.activate(loaded);
      } catch (error) {
        loaded.model.dispose();
        throw error;
      }
      active = { published: latest, window: loaded.meta.window };
      logger.info({ version: latest.version, sha256: digest.sha256 }, "cloud engine now runs the production model");
    } catch (error) {
      logger.error({ version: latest.version, err: errorMessage(error) }, "cannot activate the published model; keeping the current one");
    }
  }

  const loop = (async () => {
    let fromSeq = 1;
    for (let attempt = 0; !controller.signal.aborted; attempt++) {
      try {
        for await (const stored of readStream(nc, { stream: "MODELS", domain: CLOUD_DOMAIN, fromSeq, follow: true, signal: controller.signal, onInvalid: () => undefined })) {
          fromSeq = stored.seq + 1;
          attempt = 0;
          book.apply(stored);
          // Only once caught up: replaying ten publications loads one model, not ten.
          if (stored.pending === 0) await activateLatest();
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        logger.warn({ err: errorMessage(error) }, "MODELS read failed; retrying");
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5))).catch(() => undefined);
      }
    }
  })();

  return {
    /** The published model the engine runs (undefined: baseline). */
    active: (): PublishedModel | undefined => active?.published,
    /** What the drift monitor needs about it: its error at publication is the served artifact's. */
    info(): ProductionInfo | undefined {
      if (!active) return undefined;
      const { published, window } = active;
      return { version: published.version, window, publishedMae: published.metrics.servedMae ?? published.metrics.mae ?? 0, toSeq: published.dataRange.toSeq };
    },
    async stop(): Promise<void> {
      controller.abort();
      await loop;
    },
  };
}
export type ProductionModel = ReturnType<typeof startProductionModel>;
