import { StorageType, type JetStreamManager, type NatsConnection, type StreamConfig, type StreamSource } from "nats";
import { StreamConfigError, errorMessage } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { bucketCatalogue, streamsOf, type StreamContext, type StreamDefinition, type StreamPlace } from "./index.ts";

export type ApplyAction = "created" | "updated" | "unchanged";
export interface ApplyResult {
  stream: string;
  action: ApplyAction;
  /** The fields that differed, for `updated`. */
  changed: string[];
}

export interface ApplyOptions {
  nc: NatsConnection;
  place: StreamPlace;
  /** JetStream domain to apply in (`cloud` or `edge-<id>`). */
  domain: string;
  context: StreamContext;
  logger?: Logger;
  /** Only these streams (default: all of the place). */
  only?: readonly StreamDefinition[];
}

/** Fields JetStream can change in place; a difference elsewhere is an impossible change. */
const UPDATABLE = new Set(["description", "subjects", "sources", "discard", "max_age", "max_bytes", "max_msgs", "max_msg_size", "duplicate_window", "num_replicas", "allow_direct"]);

function normaliseSources(sources: StreamSource[] | undefined): string {
  const rows = (sources ?? []).map((s) =>
    JSON.stringify({ name: s.name, filter: s.filter_subject ?? "", api: s.external?.api ?? "", deliver: s.external?.deliver ?? "" }),
  );
  return JSON.stringify(rows.sort());
}

function differences(want: Partial<StreamConfig>, have: StreamConfig): string[] {
  const changed: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    if (key === "name" || value === undefined) continue;
    const current = (have as unknown as Record<string, unknown>)[key];
    if (key === "sources") {
      if (normaliseSources(value as StreamSource[]) !== normaliseSources(current as StreamSource[] | undefined)) changed.push(key);
    } else if (key === "subjects") {
      if (JSON.stringify([...(value as string[])].sort()) !== JSON.stringify([...((current as string[]) ?? [])].sort())) changed.push(key);
    } else if (JSON.stringify(value) !== JSON.stringify(current)) {
      changed.push(key);
    }
  }
  return changed;
}

async function applyOne(jsm: JetStreamManager, def: StreamDefinition, ctx: StreamContext): Promise<ApplyResult> {
  const want: Partial<StreamConfig> = { name: def.name, description: def.purpose, ...def.spec(ctx), ...(def.place === "cloud" && ctx.replicas ? { num_replicas: ctx.replicas } : {}) };
  let have: StreamConfig | undefined;
  try {
    have = (await jsm.streams.info(def.name)).config;
  } catch (error) {
    if (!/stream not found/i.test(errorMessage(error))) throw error;
  }
  if (!have) {
    try {
      await jsm.streams.add(want);
    } catch (error) {
      throw new StreamConfigError(`cannot create stream ${def.name}: ${errorMessage(error)}`, { cause: error });
    }
    return { stream: def.name, action: "created", changed: [] };
  }
  const changed = differences(want, have);
  if (changed.length === 0) return { stream: def.name, action: "unchanged", changed };
  const impossible = changed.filter((key) => !UPDATABLE.has(key));
  if (impossible.length) {
    const detail = impossible
      .map((key) => `${key}: ${JSON.stringify((have as unknown as Record<string, unknown>)[key])} -> ${JSON.stringify((want as Record<string, unknown>)[key])}`)
      .join("; ");
    throw new StreamConfigError(
      `stream ${def.name} cannot be changed in place (${detail}). Back it up and delete it (nats stream rm ${def.name}) to recreate it, or keep the old definition.`,
    );
  }
  try {
    await jsm.streams.update(def.name, { ...have, ...want } as StreamConfig);
  } catch (error) {
    throw new StreamConfigError(`cannot update stream ${def.name} (${changed.join(", ")}): ${errorMessage(error)}`, { cause: error });
  }
  return { stream: def.name, action: "updated", changed };
}

/** Apply the catalogue's streams (and buckets) of one place, idempotently: re-applying changes nothing. */
export async function applyStreams(options: ApplyOptions): Promise<ApplyResult[]> {
  const { nc, place, domain, context, logger, only } = options;
  const jsm = await nc.jetstreamManager({ domain });
  const results: ApplyResult[] = [];
  for (const def of only ?? streamsOf(place)) {
    const result = await applyOne(jsm, def, context);
    logger?.debug({ domain, ...result }, "stream applied");
    results.push(result);
  }
  if (!only) {
    const js = nc.jetstream({ domain });
    for (const bucket of bucketCatalogue.filter((b) => b.place === place)) {
      const existed = await jsm.streams
        .info(`OBJ_${bucket.name}`)
        .then(() => true)
        .catch(() => false);
      await js.views.os(bucket.name, { storage: StorageType.File, max_bytes: bucket.maxBytes, description: bucket.purpose, ...(place === "cloud" && context.replicas ? { replicas: context.replicas } : {}) });
      results.push({ stream: `OBJ_${bucket.name}`, action: existed ? "unchanged" : "created", changed: [] });
    }
  }
  return results;
}
