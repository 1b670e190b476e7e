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
import type { Rollout, RolloutState } from "./types.ts";
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

/** The rollout a manual rollback means: the one named, else the newest that put a version on edges. */
export function rollbackTarget(state: RolloutState, rolloutId?: string): Rollout {
  if (rolloutId) {
    const r = state.rollouts.get(rolloutId);
    if (!r) throw new NotFoundError(`no rollout ${rolloutId}`);
    return r;
  }
  for (let i = state.order.length - 1; i >= 0; i--) {
    const r = state.rollouts.get(state.order[i]!)!;
    if (r.status === "running" || r.status === "planned" || r.status === "completed") return r;
  }
  throw new NotFoundError("no rollout to roll back (none is running or completed)");
}

/**
 * `tide rollout rollback [ROLLOUT]`: appends `rollout.rolled_back` (manual)
 * expecting the rollout's last sequence, so it cannot cross a controller's
 * decision unseen; the edges that activated it return to the version they ran
 * before. A completed rollout can be rolled back too.
 */
export async function requestRollback(nc: NatsConnection, options: { rolloutId?: string; reason?: string; requestedBy: string }): Promise<{ rolloutId: string; version: string; toVersion?: string }> {
  const state = await readRolloutState(nc);
  const r = rollbackTarget(state, options.rolloutId);
  if (r.status === "rolled_back") throw new ValidationError(`rollout ${r.rolloutId} is already rolled back (${r.outcome?.reason ?? ""})`);
  if (r.status === "rejected") throw new ValidationError(`rollout ${r.rolloutId} was rejected: nothing to roll back`);
  if (r.status === "requested") throw new ValidationError(`rollout ${r.rolloutId} is not planned yet: nothing to roll back`);
  const toVersion = r.plan?.previousVersion;
  const event = createEvent(
    {
      type: "tide.rollout.rolled_back.v1",
      data: {
        rolloutId: r.rolloutId,
        version: r.version,
        ...(toVersion ? { toVersion } : {}),
        reason: options.reason ?? `manual rollback by ${options.requestedBy}`,
        trigger: "manual",
        ...(r.stage >= 0 ? { stage: r.stage } : {}),
        requestedBy: options.requestedBy,
      },
    },
    { source: `tide://cloud/${options.requestedBy}` },
  );
  await appendToStream(nc.jetstream({ domain: CLOUD_DOMAIN }), subjects.rollout(r.rolloutId), event, { expectedLastSubjectSequence: r.lastSeq });
  return { rolloutId: r.rolloutId, version: r.version, ...(toVersion ? { toVersion } : {}) };
}
