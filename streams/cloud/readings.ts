import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { edgeDomain } from "../../src/ids.ts";
import { GiB, nanos, type StreamDefinition } from "../definition.ts";

/** Where the cloud's copy of an edge's UPLINK is delivered across the leaf link. */
export const uplinkDeliverSubject = (edge: string) => `deliver.${edgeDomain(edge)}.uplink`;

/**
 * The fleet-wide aggregate: it has no subjects of its own and sources every
 * edge's UPLINK through that edge's JetStream domain, keeping the original
 * subjects and headers. Adding an edge adds a source.
 */
export const cloudReadings: StreamDefinition = {
  name: "READINGS",
  place: "cloud",
  purpose: "everything every edge uplinked: readings routed up, summaries, distribution stats",
  spec: (ctx) => ({
    sources: ctx.edges.map((edge) => ({
      name: "UPLINK",
      external: { api: `$JS.${edgeDomain(edge)}.API`, deliver: uplinkDeliverSubject(edge) },
    })),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos.days(365),
    max_bytes: 4 * GiB,
    duplicate_window: nanos.minutes(10),
  }),
};
