import { cloudDeadLetters, cloudModels, cloudNodes, cloudRollouts, cloudTasks, cloudTraining } from "./cloud/control.ts";
import { cloudReadings } from "./cloud/readings.ts";
import type { BucketDefinition, StreamDefinition, StreamPlace } from "./definition.ts";
import { edgeDeadLetters } from "./edge/dlq.ts";
import { edgeInferences } from "./edge/inferences.ts";
import { edgeReadings } from "./edge/readings.ts";
import { edgeReports } from "./edge/reports.ts";
import { edgeUplink } from "./edge/uplink.ts";

export * from "./definition.ts";
export { uplinkDeliverSubject } from "./cloud/readings.ts";

/** The stream catalogue: the single place that says which subjects exist and where they are stored. */
export const streamCatalogue: readonly StreamDefinition[] = [
  // READINGS before UPLINK: UPLINK sources it.
  edgeReadings,
  edgeUplink,
  edgeInferences,
  edgeDeadLetters,
  edgeReports,
  cloudReadings,
  cloudNodes,
  cloudTasks,
  cloudTraining,
  cloudModels,
  cloudRollouts,
  cloudDeadLetters,
];

export const bucketCatalogue: readonly BucketDefinition[] = [
  { name: "models", place: "cloud", purpose: "model artifacts (tfjs layers format), addressed by version", maxBytes: 2 * 1024 * 1024 * 1024 },
];

export function streamsOf(place: StreamPlace): StreamDefinition[] {
  return streamCatalogue.filter((s) => s.place === place);
}

export function findStream(place: StreamPlace, name: string): StreamDefinition | undefined {
  return streamCatalogue.find((s) => s.place === place && s.name === name.toUpperCase());
}
export { edgeReadings, edgeUplink, edgeInferences, edgeDeadLetters, edgeReports, cloudReadings, cloudNodes, cloudTasks, cloudTraining, cloudModels, cloudRollouts, cloudDeadLetters };
