import { z } from "zod";
import { isoTime, nonNegativeInt, positiveInt } from "../events/define.ts";
import { EdgeId } from "../ids.ts";
import { KIND_NAME } from "./kinds/registry.ts";

/** Defaults of a task's needs and priority. */
export const TASK_DEFAULTS = { cpu: 1, memoryMb: 256, priority: 4, stream: "READINGS" } as const;

/**
 * A task as submitted (CLI, `POST /tasks`, `submitTask`). Unknown fields are
 * errors, so a typo never silently drops a setting.
 */
export const TaskRequest = z
  .object({
    /** Your id for the task (idempotent submission); default: generated. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "id: 1-64 of A-Z, a-z, 0-9, '_' and '-'").optional(),
    kind: z.string().regex(KIND_NAME, "kind: lower-case letters, digits, '_', '.', '-', starting with a letter (at most 64)"),
    /** CPUs it needs on the node (fractions allowed). */
    cpu: z.number().positive().max(1024).default(TASK_DEFAULTS.cpu),
    memoryMb: z.number().positive().max(1024 * 1024).default(TASK_DEFAULTS.memoryMb),
    /** 0 (lowest) to 9 (highest). */
    priority: z.number().int().min(0).max(9).default(TASK_DEFAULTS.priority),
    /** When it must be done by (ISO 8601, in the future). */
    deadline: isoTime().optional(),
    /** What it reads: a stream range on an edge (`edge`) or in the cloud (no `edge`). */
    data: z
      .object({
        edge: EdgeId.optional(),
        stream: z.string().regex(/^[A-Z][A-Z0-9_-]{0,31}$/, "stream: a stream name such as READINGS").default(TASK_DEFAULTS.stream),
        fromSeq: positiveInt().optional(),
        toSeq: positiveInt().optional(),
        /** Its size; default: estimated from the stream's average message size. */
        bytes: nonNegativeInt().optional(),
      })
      .strict()
      .optional(),
    payload: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
/** A task request as callers write it (defaults optional). */
export type TaskRequest = z.input<typeof TaskRequest>;
/** A task request with its defaults filled in. */
export type ParsedTaskRequest = z.output<typeof TaskRequest>;
