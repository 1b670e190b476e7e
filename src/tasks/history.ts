import type { NatsConnection } from "nats";
import { NotFoundError } from "../errors.ts";
import type { EventData } from "../events/catalogue.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { readStream, tailStream, type StoredEvent } from "../store/read-stream.ts";

/** A task's story, from its subject's events. */
export interface TaskHistory {
  taskId: string;
  status: "pending" | "assigned" | "running" | "completed" | "abandoned";
  kind: string;
  node?: string;
  attempt: number;
  estimate?: EventData<"tide.task.assigned.v1">["estimate"];
  actual?: EventData<"tide.task.completed.v1">["actual"];
  result?: unknown;
  /** Every event, in order: `{ seq, time, type, data }`. */
  events: { seq: number; time: string; type: string; data: unknown }[];
}

const TERMINAL = new Set(["tide.task.completed.v1", "tide.task.abandoned.v1"]);

/** Fold a task's events into its story. */
export function summarise(taskId: string, events: readonly StoredEvent[]): TaskHistory {
  const history: TaskHistory = { taskId, status: "pending", kind: "", attempt: 0, events: [] };
  for (const { seq, event } of events) {
    history.events.push({ seq, time: event.metadata.time, type: event.type, data: event.data });
    switch (event.type) {
      case "tide.task.submitted.v1":
        history.kind = event.data.kind;
        break;
      case "tide.task.assigned.v1":
        Object.assign(history, { status: "assigned", node: event.data.node, attempt: event.data.attempt, estimate: event.data.estimate });
        break;
      case "tide.task.started.v1":
        if (event.data.attempt === history.attempt) history.status = "running";
        break;
      case "tide.task.rescheduled.v1":
        history.status = "pending";
        break;
      case "tide.task.completed.v1":
        Object.assign(history, { status: "completed", node: event.data.node, actual: event.data.actual, result: event.data.result });
        break;
      case "tide.task.abandoned.v1":
        history.status = "abandoned";
        break;
      default:
        break;
    }
  }
  return history;
}

/** Everything `tide.task.<id>` holds; NotFoundError when the task was never submitted. */
export async function readTaskHistory(nc: NatsConnection, taskId: string): Promise<TaskHistory> {
  const events: StoredEvent[] = [];
  for await (const e of readStream(nc, { stream: "TASKS", domain: CLOUD_DOMAIN, subject: subjects.task(taskId) })) events.push(e);
  if (events.length === 0) throw new NotFoundError(`no task '${taskId}'`);
  return summarise(taskId, events);
}

/** Follow a task until it completes or is abandoned (or `signal` aborts); resolves with its story. */
export async function waitForTask(nc: NatsConnection, taskId: string, signal?: AbortSignal): Promise<TaskHistory> {
  const events: StoredEvent[] = [];
  for await (const e of tailStream(nc, { stream: "TASKS", domain: CLOUD_DOMAIN, subject: subjects.task(taskId), fromSeq: 1, ...(signal ? { signal } : {}) })) {
    events.push(e);
    if (TERMINAL.has(e.event.type)) break;
  }
  return summarise(taskId, events);
}
