import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { MiB, nanos, requireEdge, type StreamDefinition } from "../definition.ts";

export const edgeDeadLetters: StreamDefinition = {
  name: "DLQ",
  place: "edge",
  purpose: "messages this edge rejected, with the reason, original bytes and headers (tide.dlq.<edge>.<reason>)",
  spec: (ctx) => {
    const edge = requireEdge(ctx, "DLQ");
    return {
      subjects: [`tide.dlq.${edge}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos.days(30),
      max_bytes: 256 * MiB,
      duplicate_window: nanos.minutes(2),
    };
  },
};
