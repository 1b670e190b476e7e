import type { TideEvent } from "../../events/catalogue.ts";
import type { TaskSpec } from "../../scheduler/types.ts";
import type { StoredEvent } from "../../store/read-stream.ts";

/** A task as a worker sees it: what it is, and where its current attempt stands. */
export interface Assignment {
  readonly spec: TaskSpec;
  readonly order: number;
  /** Last sequence seen on `tide.task.<id>`. */
  readonly lastSeq: number;
  readonly attempt: number;
  readonly node?: string;
  /** Stored time of the current assignment (ms). */
  readonly assignedAt?: number;
  /** The current attempt started (on its node). */
  readonly started: boolean;
  /** The current attempt failed; the scheduler decides what next. */
  readonly ended: boolean;
}

/** Every unfinished task, by id. */
export type WorkerView = ReadonlyMap<string, Assignment>;

/** Pure: fold one TASKS event into the view. Completed and abandoned tasks leave it. */
export function evolveView(view: WorkerView, stored: StoredEvent): WorkerView {
  const { event, seq } = stored;
  if (!event.type.startsWith("tide.task.")) return view;
  const data = (event as TideEvent<"tide.task.started.v1">).data;
  const current = view.get(data.taskId);
  const set = (next: Assignment) => new Map(view).set(data.taskId, next);
  if (event.type === "tide.task.submitted.v1") {
    return current ? view : set({ spec: event.data, order: seq, lastSeq: seq, attempt: 0, started: false, ended: false });
  }
  if (!current || seq <= current.lastSeq) return view;
  switch (event.type) {
    case "tide.task.assigned.v1":
      return set({ ...current, lastSeq: seq, attempt: event.data.attempt, node: event.data.node, assignedAt: Date.parse(stored.storedAt), started: false, ended: false });
    case "tide.task.started.v1":
      return set({ ...current, lastSeq: seq, started: current.started || event.data.attempt === current.attempt });
    case "tide.task.failed.v1":
      return set({ ...current, lastSeq: seq, ended: current.ended || event.data.attempt === current.attempt });
    case "tide.task.rescheduled.v1": {
      const { node: _node, assignedAt: _at, ...rest } = current;
      return set({ ...rest, lastSeq: seq, started: false, ended: false });
    }
    case "tide.task.completed.v1":
    case "tide.task.abandoned.v1": {
      const next = new Map(view);
      next.delete(data.taskId);
      return next;
    }
    default:
      return set({ ...current, lastSeq: seq });
  }
}

/** Attempts assigned to `node` that have not started, highest priority first, then first submitted. */
export function runnable(view: WorkerView, node: string): Assignment[] {
  return [...view.values()].filter((a) => a.node === node && a.attempt > 0 && !a.started && !a.ended).sort((a, b) => b.spec.priority - a.spec.priority || a.order - b.order);
}

/** Attempts the view says `node` started and never finished: after a restart, nobody is running them. */
export function orphaned(view: WorkerView, node: string): Assignment[] {
  return [...view.values()].filter((a) => a.node === node && a.started && !a.ended);
}

/** Whether attempt `attempt` of `taskId` is still the one `node` should be running. */
export function stillMine(view: WorkerView, taskId: string, attempt: number, node: string): boolean {
  const a = view.get(taskId);
  return a !== undefined && a.node === node && a.attempt === attempt && !a.ended;
}
