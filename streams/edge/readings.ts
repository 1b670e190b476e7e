import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { GiB, nanos, requireEdge, type StreamDefinition } from "../definition.ts";

export const edgeReadings: StreamDefinition = {
  name: "READINGS",
  place: "edge",
  purpose: "every validated reading of this edge's devices (tide.reading.<edge>.<device>.<route>)",
  spec: (ctx) => {
    const edge = requireEdge(ctx, "READINGS");
    return {
      subjects: [`tide.reading.${edge}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      // An edge keeps a week (or 1 GiB) locally; older readings are in the cloud.
      // DiscardOld: a full edge keeps sensing and drops its oldest history, never new readings.
      discard: DiscardPolicy.Old,
      max_age: nanos.days(7),
      max_bytes: GiB,
      duplicate_window: nanos.minutes(2),
    };
  },
};
