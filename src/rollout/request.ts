import type { NatsConnection } from "nats";
import { randomBytes } from "node:crypto";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { EventData } from "../events/catalogue.ts";
import { createEvent } from "../events/envelope.ts";
import { RolloutCriteria, RolloutStrategy } from "../events/rollout.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN, EdgeId, EntityId } from "../ids.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import { readStream } from "../store/read-stream.ts";
import { evolve, initialState } from "./evolve.ts";
import { decideRollback, retryOnConflict, type RollbackCommand, type RollbackResult } from "./rollback.ts";
import type { RolloutState } from "./types.ts";
import { z } from "zod";

/** A rollout request as the CLI and `POST /rollouts` take it. */
export const RolloutRequest = z.object({
  version: EntityId,
  strategy: RolloutStrategy.default("canary"),
  edges: z.array(EdgeId).min(1).optional(),
  canaries: z.number().int().positive().optional(),
  criteria: RolloutCriteria.partial().optional(),
});
export type RolloutRequest = z.input<typeof RolloutRequest>;

/** A new rollout id: sortable by time, unique across replicas. */
export function newRolloutId(now = Date.now()): string {
  return `r-${now.toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** The rollout state as the streams hold it now (the CLI's and the API's view; the controller keeps its own, live). */
export async function readRolloutState(nc: NatsConnection): Promise<RolloutState> {
  const state = initialState();
  for (const stream of ["MODELS", "ROLLOUTS"] as const) {
    for await (const stored of readStream(nc, { stream, domain: CLOUD_DOMAIN })) {
      evolve(state, { stream, seq: stored.seq, subject: stored.subject, storedAt: stored.storedAt, event: stored.event });
    }
  }
  return state;
}

/**
 * Asks for a rollout: appends `rollout.requested` for the controller to plan.
 * The version must be published (a clear error otherwise, before anything is
 * appended); the controller checks again and plans or rejects.
 */
export async function requestRollout(nc: NatsConnection, input: RolloutRequest, requestedBy: string): Promise<{ rolloutId: string; seq: number }> {
  const parsed = RolloutRequest.safeParse(input);
  if (!parsed.success) throw new ValidationError(`invalid rollout request: ${parsed.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ")}`, parsed.error.issues.map((i) => i.message));
  const request = parsed.data;
  const state = await readRolloutState(nc);
  if (!state.published.has(request.version)) {
    const known = [...state.published.keys()].slice(-5);
    throw new NotFoundError(`model version ${request.version} is not published${known.length ? ` (newest: ${known.join(", ")})` : " (no model is published yet)"}`);
  }
  const rolloutId = newRolloutId();
  const data: EventData<"tide.rollout.requested.v1"> = {
    rolloutId,
    version: request.version,
    strategy: request.strategy,
    ...(request.edges ? { edges: request.edges } : {}),
    ...(request.canaries ? { canaries: request.canaries } : {}),
    ...(request.criteria ? { criteria: request.criteria } : {}),
    requestedBy,
  };
  const event = createEvent({ type: "tide.rollout.requested.v1", data }, { source: `tide://cloud/${requestedBy}` });
  const ack = await appendToStream(nc.jetstream({ domain: CLOUD_DOMAIN }), subjects.rollout(rolloutId), event, { expectedLastSubjectSequence: 0 });
  return { rolloutId, seq: ack.seq };
}

/** Manual rollbacks that lose a race with a controller's decision are decided again on the newer state, this many times in all. */
const ROLLBACK_ATTEMPTS = 5;

/**
 * `tide rollout rollback [ROLLOUT]`: appends `rollout.rolled_back` (manual)
 * for the newest planned rollout (see `decideRollback` for what is refused),
 * expecting the rollout's last sequence, so it cannot cross a controller's
 * decision unseen; when it loses that race it reads and decides again. The
 * edges that activated the rollout return to the version they ran before. A
 * completed rollout can be rolled back too.
 */
export async function requestRollback(nc: NatsConnection, command: RollbackCommand): Promise<RollbackResult> {
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  return retryOnConflict(ROLLBACK_ATTEMPTS, async () => {
    const decided = decideRollback(await readRolloutState(nc), command);
    if (!decided.success) throw decided.reason === "NOT_FOUND" ? new NotFoundError(decided.message) : new ValidationError(decided.message);
    const event = createEvent(decided.event, { source: `tide://cloud/${command.requestedBy}` });
    await appendToStream(js, subjects.rollout(decided.rolloutId), event, { expectedLastSubjectSequence: decided.expectedSeq });
    return decided.result;
  });
}
