import type { DeviceId, EdgeId } from "../ids.ts";

/**
 * The subject scheme: family first, then the place, then the entity.
 * The stream catalogue (streams/) says which stream stores which of these.
 */
export const subjects = {
  /** Where devices publish raw readings (NATS, and MQTT topic `tide/ingest/<edge>/<device>`). */
  ingest: (edge: EdgeId, device: DeviceId | "*" | ">") => `tide.ingest.${edge}.${device}`,
  /**
   * A validated reading. The last token is the distribution route decided at
   * ingest: `up` readings are forwarded raw to the cloud, `local` ones stay.
   */
  /**
   * Where ingest acknowledges a reading sent without a reply subject (MQTT
   * `tide/ack/<edge>/<device>`): published only once the outcome is stored.
   */
  ack: (edge: EdgeId, device: DeviceId | "*") => `tide.ack.${edge}.${device}`,
  reading: (edge: EdgeId, device: DeviceId | "*", route: ReadingRoute | "*" = "up") => `tide.reading.${edge}.${device}.${route}`,
  summary: (edge: EdgeId, device: DeviceId | "*") => `tide.summary.${edge}.${device}`,
  distribution: (edge: EdgeId) => `tide.distribution.${edge}`,
  inference: (edge: EdgeId, device: DeviceId | "*") => `tide.inference.${edge}.${device}`,
  decision: (edge: EdgeId, device: DeviceId | "*") => `tide.decision.${edge}.${device}`,
  /** Commands to a device's actuators; devices subscribe here (MQTT `tide/command/<edge>/<device>`). */
  command: (edge: EdgeId, device: DeviceId | "*") => `tide.command.${edge}.${device}`,
  /** Dead letters of a place (`cloud` or an edge id) by reason. */
  deadLetter: (place: string, reason: string) => `tide.dlq.${place}.${reason}`,
  node: (node: string) => `tide.node.${node}`,
  task: (taskId: string) => `tide.task.${taskId}`,
  training: (runId: string) => `tide.training.${runId}`,
  model: (version: string) => `tide.model.${version}`,
  rollout: (rolloutId: string) => `tide.rollout.${rolloutId}`,
  /**
   * What an edge reports to the cloud control plane (model activations, failures
   * and observations): stored in the edge's REPORTS stream, which the cloud MODELS
   * sources, so a report written offline reaches the cloud when the link is back.
   */
  report: (edge: EdgeId) => `tide.report.${edge}`,
} as const;

export const ReadingRoute = { Up: "up", Local: "local" } as const;
export type ReadingRoute = (typeof ReadingRoute)[keyof typeof ReadingRoute];

/**
 * Subject families that belong to one edge and must never cross its leaf link:
 * the edge's leaf-node config denies them both ways.
 */
export const EDGE_LOCAL_FAMILIES = [
  "tide.ingest.>",
  "tide.ack.>",
  "tide.reading.>",
  "tide.summary.>",
  "tide.distribution.>",
  "tide.inference.>",
  "tide.decision.>",
  "tide.command.>",
  "tide.dlq.>",
  "tide.report.>",
] as const;
