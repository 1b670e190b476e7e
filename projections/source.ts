import { forgedOrigin } from "../src/store/source-origin.ts";
import type { ProjectionPlace, ProjectionSource } from "./engine/projection.ts";

/** Readings: an edge's own READINGS, or the cloud READINGS (every edge's readings routed up). */
export function readingsSource(place: ProjectionPlace, edge?: string): ProjectionSource {
  if (place === "edge") {
    if (!edge) throw new Error("an edge projection needs the edge id");
    return { stream: "READINGS", subject: `tide.reading.${edge}.>` };
  }
  // Each edge's readings must have come from that edge's UPLINK (src/store/source-origin.ts).
  return { stream: "READINGS", subject: "tide.reading.>", refuse: forgedOrigin };
}
