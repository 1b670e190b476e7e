import { z } from "zod";
import { EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt, positiveInt } from "./define.ts";

/** The latency model's terms, in ms: `totalMs = transmitMs + computeMs + queueMs`. */
const Estimate = z.object({
  transmitMs: z.number().nonnegative(),
  computeMs: z.number().nonnegative(),
  queueMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
});

/** Why a task attempt ended without completing, and the scheduler moved or dropped it. */
export const RescheduleReason = z.enum(["node_lost", "deadline_overrun", "failed"]);

export const taskSubmitted = defineEvent(
  "tide.task.submitted.v1",
  z.object({
    taskId: EntityId,
    kind: z.string().min(1).max(64),
    needs: z.object({ cpu: z.number().positive(), memoryMb: z.number().positive() }),
    priority: z.number().int().min(0).max(9),
    deadline: isoTime().optional(),
    data: z
      .object({ edge: z.string().optional(), stream: z.string().optional(), fromSeq: positiveInt().optional(), toSeq: positiveInt().optional(), bytes: nonNegativeInt() })
      .optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
  }),
);

export const taskAssigned = defineEvent(
  "tide.task.assigned.v1",
  z.object({
    taskId: EntityId,
    node: EntityId,
    attempt: positiveInt(),
    estimate: Estimate,
    deadlineMet: z.boolean(),
    candidates: z.array(
      z.object({
        node: EntityId,
        eligible: z.boolean(),
        /** Cost in ms (lower wins): the estimate's total weighted by the node's resource pressure. */
        score: z.number().optional(),
        estimate: Estimate.optional(),
        reason: z.string().optional(),
        /** Share of the node's CPU or memory (the larger) reserved once this task is on it. */
        pressure: z.number().nonnegative().optional(),
        /** Where the compute estimate came from: `learned` from this node's runs of the kind, `fleet` from other nodes', or `prior`. */
        computeBasis: z.enum(["learned", "fleet", "prior"]).optional(),
      }),
    ),
    /** Said when the deadline cannot be met, or anything else worth knowing about the decision. */
    note: z.string().optional(),
    /** The scheduler replica that decided. */
    scheduler: z.string().optional(),
  }),
);

export const taskStarted = defineEvent("tide.task.started.v1", z.object({ taskId: EntityId, node: EntityId, attempt: positiveInt() }));
export const taskProgressed = defineEvent(
  "tide.task.progressed.v1",
  z.object({ taskId: EntityId, node: EntityId, attempt: positiveInt(), fraction: z.number().min(0).max(1) }),
);
export const taskCompleted = defineEvent(
  "tide.task.completed.v1",
  z.object({
    taskId: EntityId,
    node: EntityId,
    attempt: positiveInt(),
    actual: z.object({
      transmitMs: z.number().nonnegative(),
      computeMs: z.number().nonnegative(),
      queueMs: z.number().nonnegative(),
      /** Bytes of data read (what `transmitMs` moved). */
      bytes: nonNegativeInt().optional(),
    }),
    result: z.unknown().optional(),
  }),
);
export const taskFailed = defineEvent(
  "tide.task.failed.v1",
  z.object({
    taskId: EntityId,
    node: EntityId,
    attempt: positiveInt(),
    reason: z.string().min(1),
    /** False when another attempt cannot succeed (bad payload, unknown kind): the scheduler abandons the task. */
    retryable: z.boolean().default(true),
  }),
);
export const taskRescheduled = defineEvent(
  "tide.task.rescheduled.v1",
  z.object({
    taskId: EntityId,
    fromNode: EntityId,
    attempt: positiveInt(),
    reason: RescheduleReason,
    detail: z.string().optional(),
    notBefore: isoTime(),
  }),
);
/** Terminal: the scheduler gave up on a task (retries exhausted, or a failure no retry can fix). */
export const taskAbandoned = defineEvent(
  "tide.task.abandoned.v1",
  z.object({ taskId: EntityId, attempts: nonNegativeInt(), reason: RescheduleReason, detail: z.string().optional(), lastNode: EntityId.optional() }),
);
