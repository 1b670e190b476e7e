import { z } from "zod";
import { createEvent } from "../../events/envelope.ts";
import { isoTime } from "../../events/define.ts";
import { subjects } from "../../events/subjects.ts";
import { CLOUD_DOMAIN, deterministicId } from "../../ids.ts";
import { appendToStream } from "../../store/append-to-stream.ts";
import type { TaskKind } from "./registry.ts";

const Payload = z
  .object({
    /** Train on readings from this time (default: the trainer's). */
    since: isoTime().optional(),
    until: isoTime().optional(),
    /** Publish even if the new model does not beat the current one. */
    force: z.boolean().default(false),
  })
  .strict();

/**
 * `retrain`: ask the cloud trainer for a new model by appending
 * `tide.training.requested.v1` (reason `api`, the task named in `detail`).
 * The run id and event id derive from the task id, so a retried attempt asks
 * once. The trainer owns the run from there.
 */
export const retrainKind: TaskKind = {
  kind: "retrain",
  description: "request a training run of the forecast model (tide.training.requested.v1)",
  payload: Payload,
  async handler(ctx) {
    const { since, until, force } = ctx.payload as z.infer<typeof Payload>;
    const runId = `task-${ctx.task.taskId}`;
    const event = createEvent(
      {
        type: "tide.training.requested.v1",
        data: { runId, reason: "api", detail: `task ${ctx.task.taskId} (attempt ${ctx.attempt}) on ${ctx.node}`, force, ...(since ? { since } : {}), ...(until ? { until } : {}) },
      },
      { source: `tide://${ctx.node}/tasks`, id: deterministicId("training.requested", runId) },
    );
    const ack = await appendToStream(ctx.nc.jetstream({ domain: CLOUD_DOMAIN }), subjects.training(runId), event);
    return { runId, seq: ack.seq, duplicate: ack.duplicate };
  },
};
