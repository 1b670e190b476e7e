import type { NatsConnection } from "nats";
import { errorMessage } from "../../errors.ts";
import { createEvent } from "../../events/envelope.ts";
import { subjects } from "../../events/subjects.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { silentLogger, type Logger } from "../../log.ts";
import { appendToStream } from "../../store/append-to-stream.ts";
import { startControlFeed, type ControlFeed } from "../../store/control-feed.ts";
import type { Predictor, TaskKindRegistry } from "../kinds/registry.ts";
import { evolveView, orphaned, runnable, stillMine, type WorkerView } from "./assignments.ts";
import { AttemptAborted, runAttempt } from "./run-attempt.ts";
import { within } from "../../within.ts";

/** What a node's task worker runs on and offers. */
export interface TaskWorkerOptions {
  /** A connection that reaches the cloud domain (a hub connection, or an edge's across its leaf link). */
  nc: NatsConnection;
  /** The node id tasks are assigned to: `edge-<id>` or `worker-<name>`. */
  node: string;
  registry: TaskKindRegistry;
  /** CPUs of tasks run at once (their `needs.cpu` summed); one task always runs. */
  cpus: number;
  predictor?: Predictor;
  logger?: Logger;
  /** Progress events at most this often per task (default 500 ms). */
  progressEveryMs?: number;
}

interface Running {
  attempt: number;
  cpu: number;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The task worker of a node: follows TASKS, runs the attempts assigned to
 * this node (highest priority first, as many as its CPUs hold), and stops an
 * attempt the scheduler has moved elsewhere. After a restart, attempts it had
 * started are reported failed at once, so they are rescheduled without
 * waiting for an overrun.
 */
export function startTaskWorker(options: TaskWorkerOptions) {
  const { nc, node, registry, cpus, predictor, logger = silentLogger, progressEveryMs = 500 } = options;
  const log = logger.child({ component: "task-worker", node });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const running = new Map<string, Running>();
  const stats = { completed: 0, failed: 0, superseded: 0 };
  let view: WorkerView = new Map();
  let feed: ControlFeed | undefined;
  let ready = false;
  let stopping = false;

  const usedCpu = () => [...running.values()].reduce((sum, r) => sum + r.cpu, 0);

  function pump(): void {
    if (!ready || stopping) return;
    for (const [taskId, r] of running) {
      if (!stillMine(view, taskId, r.attempt, node)) r.controller.abort(new AttemptAborted("superseded"));
    }
    for (const assignment of runnable(view, node)) {
      const { taskId } = assignment.spec;
      if (running.has(taskId)) continue;
      const cpu = assignment.spec.needs.cpu;
      if (running.size > 0 && usedCpu() + cpu > cpus) break;
      const controller = new AbortController();
      const entry: Running = { attempt: assignment.attempt, cpu, controller, done: Promise.resolve() };
      running.set(taskId, entry);
      entry.done = runAttempt({ nc, js, node, kind: registry.get(assignment.spec.kind), assignment, controller, progressEveryMs, logger: log, ...(predictor ? { predictor } : {}) })
        .then((outcome) => void stats[outcome]++)
        .catch((error: unknown) => log.error({ task: taskId, err: errorMessage(error) }, "attempt crashed"))
        .finally(() => {
          running.delete(taskId);
          pump();
        });
    }
  }

  /** Attempts this node started before a restart: nobody runs them now. */
  async function failOrphans(): Promise<void> {
    for (const a of orphaned(view, node)) {
      const event = createEvent({ type: "tide.task.failed.v1", data: { taskId: a.spec.taskId, node, attempt: a.attempt, reason: "the node restarted during the attempt", retryable: true } }, { source: `tide://${node}/tasks` });
      await appendToStream(js, subjects.task(a.spec.taskId), event, { expectedLastSubjectSequence: a.lastSeq }).catch(() => undefined);
      log.warn({ task: a.spec.taskId, attempt: a.attempt }, "attempt orphaned by a restart: reported failed");
    }
  }

  return {
    node,
    stats,
    /** Kinds this worker runs. */
    kinds: (): string[] => registry.names(),
    /** Attempts running or waiting here. */
    queueDepth: (): number => running.size + runnable(view, node).filter((a) => !running.has(a.spec.taskId)).length,
    /** Follow TASKS; resolves once caught up (then attempts start). */
    async start(): Promise<void> {
      feed = startControlFeed({
        nc,
        streams: ["TASKS"],
        logger: log,
        onEvent: (stored) => {
          view = evolveView(view, stored);
          pump();
        },
      });
      await feed.caughtUp;
      await failOrphans();
      ready = true;
      pump();
    },
    /**
     * Stop taking tasks; running attempts are stopped and reported failed
     * (retryable), so they move elsewhere. A handler that ignores its signal
     * is waited for at most `graceMs` (default 5 s); its attempt then overruns.
     */
    async stop(graceMs = 5000): Promise<void> {
      stopping = true;
      for (const r of running.values()) r.controller.abort(new AttemptAborted("stopping"));
      await within(Promise.all([...running.values()].map((r) => r.done)), graceMs);
      await feed?.stop();
    },
  };
}
/** A running task worker. */
export type TaskWorker = ReturnType<typeof startTaskWorker>;
