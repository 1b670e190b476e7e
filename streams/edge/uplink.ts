import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { GiB, nanos, requireEdge, type StreamDefinition } from "../definition.ts";

/**
 * The edge's outbox to the cloud. It sources the READINGS routed `up` (same
 * subjects, same headers) and takes the summaries and distribution events the
 * edge writes for the cloud. The cloud READINGS sources this stream across the
 * leaf link, so what is written here while the link is down is forwarded,
 * exactly once, when it comes back.
 */
export const edgeUplink: StreamDefinition = {
  name: "UPLINK",
  place: "edge",
  purpose: "what this edge forwards to the cloud: readings routed up, summaries, distribution stats",
  spec: (ctx) => {
    const edge = requireEdge(ctx, "UPLINK");
    return {
      subjects: [`tide.summary.${edge}.>`, `tide.distribution.${edge}`],
      sources: [{ name: "READINGS", filter_subject: `tide.reading.${edge}.*.up` }],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos.days(7),
      max_bytes: GiB,
      duplicate_window: nanos.minutes(2),
    };
  },
};
