import type { JetStreamClient, NatsConnection } from "nats";
import { ConcurrencyError, ValidationError, errorMessage } from "../../errors.ts";
import { formatIssues, type TideEventBody } from "../../events/catalogue.ts";
import { createEvent } from "../../events/envelope.ts";
import { subjects } from "../../events/subjects.ts";
import type { Logger } from "../../log.ts";
import { appendToStream } from "../../store/append-to-stream.ts";
import type { Predictor, TaskKind } from "../kinds/registry.ts";
import type { Assignment } from "./assignments.ts";
import { readTaskData } from "./task-data.ts";

/** Why the executor stopped an attempt: another attempt owns the task now, or the worker is stopping. */
export class AttemptAborted extends Error {
  readonly why: "superseded" | "stopping";
  constructor(why: "superseded" | "stopping") {
    super(why === "superseded" ? "the attempt was superseded" : "the worker is stopping");
    this.name = "AttemptAborted";
    this.why = why;
  }
}

/** One attempt to run, and what to run it with. */
export interface AttemptOptions {
  nc: NatsConnection;
  /** JetStream of the cloud domain (TASKS). */
  js: JetStreamClient;
  node: string;
  kind: TaskKind | undefined;
  assignment: Assignment;
  controller: AbortController;
  progressEveryMs: number;
  predictor?: Predictor;
  logger: Logger;
}

/** How an attempt ended: recorded completed or failed, or superseded (nothing recorded). */
export type AttemptOutcome = "completed" | "failed" | "superseded";

/** Results larger than this are replaced by a note: they travel in the completion event. */
const MAX_RESULT_BYTES = 256 * 1024;

function storable(result: unknown): unknown {
  const json = JSON.stringify(result ?? null);
  return json.length <= MAX_RESULT_BYTES ? JSON.parse(json) : { truncated: true, bytes: json.length };
}

/**
 * One attempt of one task on this node: started, progress, then completed or
 * failed, with measured times (T_queue from the assignment to the start,
 * T_transmit reading the data, T_compute the rest). Every append expects the
 * subject's sequence the attempt itself last wrote: if anything else was
 * appended meanwhile (the scheduler moved the task), the attempt is
 * superseded, stops, and its result is never recorded. So a task completes
 * once, whatever happens to the nodes that ran it.
 */
export async function runAttempt(options: AttemptOptions): Promise<AttemptOutcome> {
  const { nc, js, node, kind, assignment, controller, progressEveryMs, predictor, logger } = options;
  const { spec, attempt } = assignment;
  const { taskId } = spec;
  const log = logger.child({ task: taskId, attempt });
  const source = `tide://${node}/tasks`;
  let seq = assignment.lastSeq;
  const append = async (body: TideEventBody) => {
    try {
      seq = (await appendToStream(js, subjects.task(taskId), createEvent(body, { source }), { expectedLastSubjectSequence: seq })).seq;
    } catch (error) {
      if (error instanceof ConcurrencyError) controller.abort(new AttemptAborted("superseded"));
      throw error;
    }
  };
  const queueMs = Math.max(0, Date.now() - (assignment.assignedAt ?? Date.now()));
  try {
    await append({ type: "tide.task.started.v1", data: { taskId, node, attempt } });
  } catch (error) {
    log.info({ err: errorMessage(error) }, "attempt not started: superseded");
    return "superseded";
  }

  let transmitMs = 0;
  let bytes = 0;
  let progressChain: Promise<void> = Promise.resolve();
  let lastProgress = 0;
  const started = performance.now();
  try {
    if (!kind) throw new Error(`this node does not run kind '${spec.kind}'`);
    const parsed = kind.payload ? kind.payload.safeParse(spec.payload) : { success: true as const, data: spec.payload };
    if (!parsed.success) throw new ValidationError(`payload: ${formatIssues(parsed.error).join("; ")}`);
    const result = await kind.handler({
      task: spec,
      payload: parsed.data,
      attempt,
      node,
      nc,
      logger: log,
      signal: controller.signal,
      ...(predictor ? { predictor } : {}),
      readData: async () => {
        const read = await readTaskData(nc, spec, controller.signal);
        transmitMs += read.ms;
        bytes += read.bytes;
        return read.events;
      },
      progress: (fraction) => {
        const now = performance.now();
        if (now - lastProgress < progressEveryMs || controller.signal.aborted) return;
        lastProgress = now;
        const clamped = Math.min(1, Math.max(0, fraction));
        progressChain = progressChain.then(() => append({ type: "tide.task.progressed.v1", data: { taskId, node, attempt, fraction: clamped } })).catch(() => undefined);
      },
    });
    await progressChain;
    if (controller.signal.aborted) throw controller.signal.reason;
    const computeMs = Math.max(0, performance.now() - started - transmitMs);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    await append({
      type: "tide.task.completed.v1",
      data: { taskId, node, attempt, actual: { transmitMs: round(transmitMs), computeMs: round(computeMs), queueMs: round(queueMs), bytes }, result: storable(result) },
    });
    log.info({ transmitMs: round(transmitMs), computeMs: round(computeMs), queueMs: round(queueMs) }, "task completed");
    return "completed";
  } catch (error) {
    await progressChain;
    const reason = controller.signal.reason ?? error;
    if (reason instanceof AttemptAborted && reason.why === "superseded") {
      log.info("attempt superseded: its result is dropped");
      return "superseded";
    }
    if (error instanceof ConcurrencyError) return "superseded";
    const message = reason instanceof AttemptAborted ? reason.message : errorMessage(error);
    try {
      await append({ type: "tide.task.failed.v1", data: { taskId, node, attempt, reason: message, retryable: !(error instanceof ValidationError) } });
      log.warn({ err: message }, "task failed");
      return "failed";
    } catch {
      return "superseded";
    }
  }
}
