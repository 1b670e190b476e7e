import type { NatsConnection } from "nats";
import type { EventData } from "../events/catalogue.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { readStream, type StoredEvent } from "../store/read-stream.ts";

/** A `model.published` with where and when it was stored on MODELS. */
export type PublishedModel = EventData<"tide.model.published.v1"> & { seq: number; publishedAt: string };

/** Versions are `v<N>`: the N of a version, or undefined for a name of another shape. */
export function versionNumber(version: string): number | undefined {
  const match = /^v(\d+)$/.exec(version);
  return match ? Number(match[1]) : undefined;
}

/**
 * What the MODELS stream says about model versions: every version used so
 * far (evaluated or published) and the production model, which is the
 * newest published one.
 */
export function createModelBook() {
  let production: PublishedModel | undefined;
  let highest = 0;
  const published = new Map<string, PublishedModel>();
  return {
    apply(stored: StoredEvent): void {
      const { event } = stored;
      if (event.type !== "tide.model.evaluated.v1" && event.type !== "tide.model.published.v1") return;
      highest = Math.max(highest, versionNumber(event.data.version) ?? 0);
      if (event.type === "tide.model.published.v1") {
        production = { ...event.data, seq: stored.seq, publishedAt: event.metadata.time };
        published.set(production.version, production);
      }
    },
    production: (): PublishedModel | undefined => production,
    published: (version: string): PublishedModel | undefined => published.get(version),
    /** The version a new candidate should try first. */
    nextVersion: (): string => `v${highest + 1}`,
  };
}
export type ModelBook = ReturnType<typeof createModelBook>;

/** Fold the whole cloud MODELS stream (small: a few events per model) into a model book. */
export async function readModelBook(nc: NatsConnection): Promise<ModelBook> {
  const book = createModelBook();
  for await (const stored of readStream(nc, { stream: "MODELS", domain: CLOUD_DOMAIN, onInvalid: () => undefined })) book.apply(stored);
  return book;
}
