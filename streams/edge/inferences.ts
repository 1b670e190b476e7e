import { GiB, nanos } from "../definition.ts";
import { edgeStream } from "./edge-stream.ts";

export const edgeInferences = edgeStream("INFERENCES", "inferences, decisions and the commands sent to devices on this edge", (edge) => ({
  subjects: [`tide.inference.${edge}.>`, `tide.decision.${edge}.>`, `tide.command.${edge}.>`],
  max_age: nanos.days(7),
  max_bytes: GiB,
}));
