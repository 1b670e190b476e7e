import { z } from "zod";
import { EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt, positiveInt } from "./define.ts";

const Estimate = z.object({
  transmitMs: z.number().nonnegative(),
  computeMs: z.number().nonnegative(),
  queueMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
});

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
      z.object({ node: EntityId, eligible: z.boolean(), score: z.number().optional(), estimate: Estimate.optional(), reason: z.string().optional() }),
    ),
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
    actual: z.object({ transmitMs: z.number().nonnegative(), computeMs: z.number().nonnegative(), queueMs: z.number().nonnegative() }),
    result: z.unknown().optional(),
  }),
);
export const taskFailed = defineEvent(
  "tide.task.failed.v1",
  z.object({ taskId: EntityId, node: EntityId, attempt: positiveInt(), reason: z.string().min(1) }),
);
export const taskRescheduled = defineEvent(
  "tide.task.rescheduled.v1",
  z.object({
    taskId: EntityId,
    fromNode: EntityId,
    attempt: positiveInt(),
    reason: z.enum(["node_lost", "deadline_overrun", "failed"]),
    detail: z.string().optional(),
    notBefore: isoTime(),
  }),
);
