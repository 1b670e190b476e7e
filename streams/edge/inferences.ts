import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { GiB, nanos, requireEdge, type StreamDefinition } from "../definition.ts";

export const edgeInferences: StreamDefinition = {
  name: "INFERENCES",
  place: "edge",
  purpose: "inferences, decisions and the commands sent to devices on this edge",
  spec: (ctx) => {
    const edge = requireEdge(ctx, "INFERENCES");
    return {
      subjects: [`tide.inference.${edge}.>`, `tide.decision.${edge}.>`, `tide.command.${edge}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos.days(7),
      max_bytes: GiB,
      duplicate_window: nanos.minutes(2),
    };
  },
};
