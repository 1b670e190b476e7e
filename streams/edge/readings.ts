import { GiB, nanos } from "../definition.ts";
import { edgeStream } from "./edge-stream.ts";

/** An edge keeps a week (or 1 GiB) of readings locally; older ones are in the cloud. */
export const edgeReadings = edgeStream("READINGS", "every validated reading of this edge's devices (tide.reading.<edge>.<device>.<route>)", (edge) => ({
  subjects: [`tide.reading.${edge}.>`],
  max_age: nanos.days(7),
  max_bytes: GiB,
}));
