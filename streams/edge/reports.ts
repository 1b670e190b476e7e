import { MiB, nanos } from "../definition.ts";
import { edgeStream } from "./edge-stream.ts";

/**
 * The edge's reports to the cloud control plane: model activations, failed
 * activations and canary observations. The cloud MODELS stream sources it
 * across the leaf link, so a rollout controller hears from an edge that was
 * offline as soon as it is back, exactly once.
 */
export const edgeReports = edgeStream("REPORTS", "what this edge reports to the cloud control plane: model activations, failures, observations", (edge) => ({
  subjects: [`tide.report.${edge}`],
  max_age: nanos.days(30),
  max_bytes: 64 * MiB,
}));
