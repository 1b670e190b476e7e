import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { nanos, requireEdge, type StreamDefinition, type StreamSpec } from "../definition.ts";
import type { EdgeId } from "../../src/ids.ts";

/**
 * An edge stream: file storage, limits retention, and DiscardOld — a full edge
 * keeps sensing and drops its oldest local history (already forwarded), never
 * new data. `spec` gives what differs per stream: subjects, sources, limits.
 */
export function edgeStream(
  name: string,
  purpose: string,
  spec: (edge: EdgeId) => Partial<StreamSpec> & { max_age: number; max_bytes: number },
): StreamDefinition {
  return {
    name,
    place: "edge",
    purpose,
    spec: (ctx) => ({
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos.minutes(2),
      ...spec(requireEdge(ctx, name)),
    }),
  };
}
