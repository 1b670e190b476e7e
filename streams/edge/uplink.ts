import { GiB, nanos } from "../definition.ts";
import { edgeStream } from "./edge-stream.ts";

/**
 * The edge's outbox to the cloud. It sources the READINGS routed `up` (same
 * subjects, same headers) and takes the summaries and distribution events the
 * edge writes for the cloud. The cloud READINGS sources this stream across the
 * leaf link, so what is written here while the link is down is forwarded,
 * exactly once, when it comes back.
 */
export const edgeUplink = edgeStream("UPLINK", "what this edge forwards to the cloud: readings routed up, summaries, distribution stats", (edge) => ({
  subjects: [`tide.summary.${edge}.>`, `tide.distribution.${edge}`],
  sources: [{ name: "READINGS", filter_subject: `tide.reading.${edge}.*.up` }],
  max_age: nanos.days(7),
  max_bytes: GiB,
}));
