import { MiB, nanos } from "../definition.ts";
import { edgeStream } from "./edge-stream.ts";

export const edgeDeadLetters = edgeStream("DLQ", "messages this edge rejected, with the reason, original bytes and headers (tide.dlq.<edge>.<reason>)", (edge) => ({
  subjects: [`tide.dlq.${edge}.>`],
  max_age: nanos.days(30),
  max_bytes: 256 * MiB,
}));
