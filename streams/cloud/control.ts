import { DiscardPolicy, RetentionPolicy, StorageType } from "nats";
import { edgeDomain } from "../../src/ids.ts";
import { GiB, MiB, nanos, type StreamDefinition } from "../definition.ts";

/** A cloud stream of decisions and lifecycle events, one subject per entity so appends can expect a last subject sequence. */
function controlStream(name: string, family: string, purpose: string, maxBytes = GiB, sources?: StreamDefinition["spec"]): StreamDefinition {
  return {
    name,
    place: "cloud",
    purpose,
    spec: (ctx) => ({
      subjects: [`tide.${family}.>`],
      ...(sources ? sources(ctx) : {}),
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: 0,
      max_bytes: maxBytes,
      duplicate_window: nanos.minutes(10),
    }),
  };
}

export const cloudNodes = controlStream("NODES", "node", "node registrations, heartbeats and losses (tide.node.<node>)");
export const cloudTasks = controlStream("TASKS", "task", "task lifecycle and scheduling decisions (tide.task.<task>)");
export const cloudTraining = controlStream("TRAINING", "training", "training requests, runs and epochs (tide.training.<run>)");
/** Where the cloud's copy of an edge's REPORTS is delivered across the leaf link. */
export const reportsDeliverSubject = (edge: string) => `deliver.${edgeDomain(edge)}.reports`;

/** MODELS also sources every edge's REPORTS: activations, failures and observations arrive here with their `tide.report.<edge>` subjects. */
export const cloudModels = controlStream("MODELS", "model", "model evaluations and publications (tide.model.<version>); edges' activations and observations (tide.report.<edge>, sourced)", GiB, (ctx) => ({
  sources: ctx.edges.map((edge) => ({
    name: "REPORTS",
    external: { api: `$JS.${edgeDomain(edge)}.API`, deliver: reportsDeliverSubject(edge) },
  })),
}));
export const cloudRollouts = controlStream("ROLLOUTS", "rollout", "rollout plans, stages and outcomes (tide.rollout.<rollout>)");

export const cloudDeadLetters: StreamDefinition = {
  name: "DLQ",
  place: "cloud",
  purpose: "messages the cloud rejected, with the reason, original bytes and headers (tide.dlq.cloud.<reason>)",
  spec: () => ({
    subjects: ["tide.dlq.cloud.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos.days(30),
    max_bytes: 256 * MiB,
    duplicate_window: nanos.minutes(2),
  }),
};
