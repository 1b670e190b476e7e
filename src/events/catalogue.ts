import { z } from "zod";
import { deadLettered } from "./dead-letter.ts";
import { distributionModeChanged, distributionStats } from "./distribution.ts";
import { commandIssued, decisionMade, inferenceCompleted } from "./inference.ts";
import { modelActivated, modelActivationFailed, modelEvaluated, modelObserved, modelPublished } from "./model.ts";
import { nodeHeartbeat, nodeLost, nodeRegistered } from "./node.ts";
import { readingRecorded, summaryRecorded } from "./reading.ts";
import { rolloutCompleted, rolloutPlanned, rolloutRejected, rolloutRequested, rolloutRolledBack, rolloutStageCompleted, rolloutStageStarted } from "./rollout.ts";
import { taskAbandoned, taskAssigned, taskCompleted, taskFailed, taskProgressed, taskRescheduled, taskStarted, taskSubmitted } from "./task.ts";
import { trainingCompleted, trainingEpochCompleted, trainingFailed, trainingRequested, trainingStarted } from "./training.ts";

/** Every event type Tide writes, newest version of each. */
export const definitions = [
  readingRecorded,
  summaryRecorded,
  distributionStats,
  distributionModeChanged,
  inferenceCompleted,
  decisionMade,
  commandIssued,
  nodeRegistered,
  nodeHeartbeat,
  nodeLost,
  taskSubmitted,
  taskAssigned,
  taskStarted,
  taskProgressed,
  taskCompleted,
  taskFailed,
  taskRescheduled,
  taskAbandoned,
  trainingRequested,
  trainingStarted,
  trainingEpochCompleted,
  trainingCompleted,
  trainingFailed,
  modelEvaluated,
  modelPublished,
  modelActivated,
  modelActivationFailed,
  modelObserved,
  rolloutRequested,
  rolloutRejected,
  rolloutPlanned,
  rolloutStageStarted,
  rolloutStageCompleted,
  rolloutCompleted,
  rolloutRolledBack,
  deadLettered,
] as const;

export const TideEventBody = z.discriminatedUnion(
  "type",
  definitions.map((d) => d.schema) as unknown as [
    (typeof definitions)[number]["schema"],
    ...(typeof definitions)[number]["schema"][],
  ],
);

type Definitions = (typeof definitions)[number];
export type EventType = Definitions["type"];
/** The data of the event type `T`. */
export type EventData<T extends EventType> = z.infer<Extract<Definitions, { type: T }>["data"]>;
/** `{ type, data }` of any Tide event, discriminated on `type`. */
export type TideEventBody = { [D in Definitions as D["type"]]: { type: D["type"]; data: z.infer<D["data"]> } }[EventType];

/** Where an event came from and when: the CloudEvents attributes other than type and data. */
export interface EventMetadata {
  /** `ce-id`; also the `Nats-Msg-Id`, so a retried append is stored once. */
  id: string;
  /** `ce-source`, e.g. `tide://edge-1/ingest`. */
  source: string;
  /** `ce-time`, ISO 8601. */
  time: string;
}

export type TideEvent<T extends EventType = EventType> = Extract<TideEventBody, { type: T }> & { metadata: EventMetadata };

const byType = new Map<string, Definitions>(definitions.map((d) => [d.type, d]));

/**
 * Readers of older versions: `old type -> (old data) -> { type, data }` of a
 * newer version. A stream keeps old events as they were written; they are
 * upcast when read, so every reader sees only current types.
 */
const upcasters = new Map<string, (data: unknown) => { type: string; data: unknown }>();

export function registerUpcaster(fromType: string, upcast: (data: unknown) => { type: string; data: unknown }): void {
  if (byType.has(fromType)) throw new Error(`${fromType} is a current event type; only retired versions are upcast`);
  upcasters.set(fromType, upcast);
}

export function isKnownType(type: string): boolean {
  return byType.has(type) || upcasters.has(type);
}

export type ParseResult =
  | { success: true; event: TideEventBody }
  | { success: false; reason: "unknown_type" | "schema"; issues: string[] };

/** Validates `{ type, data }` against the catalogue, upcasting retired versions first. */
export function parseEventBody(type: string, data: unknown): ParseResult {
  let current = { type, data };
  for (let hops = 0; upcasters.has(current.type) && hops < 16; hops++) {
    current = upcasters.get(current.type)!(current.data);
  }
  const definition = byType.get(current.type);
  if (!definition) return { success: false, reason: "unknown_type", issues: [`unknown event type '${type}'`] };
  if (definition.accepts?.(current.data)) return { success: true, event: { type: current.type, data: current.data } as TideEventBody };
  const parsed = definition.data.safeParse(current.data);
  if (!parsed.success) return { success: false, reason: "schema", issues: formatIssues(parsed.error) };
  return { success: true, event: { type: current.type, data: parsed.data } as TideEventBody };
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`);
}
