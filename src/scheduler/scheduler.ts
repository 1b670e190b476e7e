import type { NatsConnection } from "nats";
import { randomBytes } from "node:crypto";
import { ConcurrencyError, errorMessage } from "../errors.ts";
import { createEvent, type TideEvent } from "../events/index.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import { startControlFeed, type ControlFeed } from "../store/control-feed.ts";
import { createSerialRounds } from "../control/serial-rounds.ts";
import { decide } from "./decider.ts";
import { evolve, initialState } from "./evolve.ts";
import { DEFAULT_SCHEDULER_CONFIG, isSchedulerEvent, type Decision, type SchedulerConfig, type SchedulerState } from "./types.ts";

/** A scheduler replica's connection, name and tunables. */
export interface SchedulerOptions {
  nc: NatsConnection;
  logger?: Logger;
  /** This replica's name, recorded in its assignments (default: random). */
  id?: string;
  config?: Partial<SchedulerConfig>;
  /** Rounds run at least this often (default 250 ms), and at once after a relevant event. */
  tickMs?: number;
  /** Run rounds by itself (default true); false: only when `round()` is called (tests, benchmarks). */
  autoRun?: boolean;
  /** Decisions appended at once (default 64). */
  maxInFlight?: number;
}

/** What the replica did since it started. */
export interface SchedulerStats {
  rounds: number;
  assigned: number;
  rescheduled: number;
  abandoned: number;
  /** Appends another replica (or a worker) beat: its decision was stale and was dropped. */
  conflicts: number;
  errors: number;
}

const POKES = new Set(["tide.task.submitted.v1", "tide.task.completed.v1", "tide.task.failed.v1", "tide.task.abandoned.v1", "tide.node.registered.v1", "tide.node.lost.v1"]);

/**
 * The scheduler's I/O shell around its decider. It folds TASKS and NODES into
 * the state (from the first event, so a restart loses nothing), and each round
 * supervises running attempts, then places ready tasks. Every decision is
 * appended with the task subject's expected last sequence: when another
 * replica or a worker got there first the append fails, the decision is
 * dropped, and the next round decides again on the newer state. Several
 * replicas can run; a task is never assigned twice.
 */
export function createScheduler(options: SchedulerOptions) {
  const { nc, logger = silentLogger, tickMs = 250, autoRun = true, maxInFlight = 64 } = options;
  const id = options.id ?? `scheduler-${randomBytes(3).toString("hex")}`;
  const config: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG, ...options.config };
  const log = logger.child({ component: "scheduler", scheduler: id });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const source = `tide://cloud/${id}`;
  const stats: SchedulerStats = { rounds: 0, assigned: 0, rescheduled: 0, abandoned: 0, conflicts: 0, errors: 0 };
  /** Decisions that lost a race: not retried until the task subject moves past the sequence they expected. */
  const stale = new Map<string, number>();
  let state: SchedulerState = initialState();
  let feed: ControlFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ready = false;

  const apply = (event: TideEvent, seq: number, storedAt: string, subject: string) => {
    if (isSchedulerEvent(event)) state = evolve(state, { seq, storedAt, subject, pending: 0, event });
  };

  async function append(decision: Decision, now: number): Promise<void> {
    const subject = subjects.task(decision.taskId);
    const event = createEvent(decision.event, { source, time: new Date(now).toISOString() }) as TideEvent;
    try {
      const ack = await appendToStream(js, subject, event, { expectedLastSubjectSequence: decision.expectedSeq });
      apply(event, ack.seq, event.metadata.time, subject);
      const type = decision.event.type;
      if (type === "tide.task.assigned.v1") {
        stats.assigned++;
        const d = decision.event.data as { node: string; attempt: number; estimate: { totalMs: number }; deadlineMet: boolean };
        log.info({ task: decision.taskId, node: d.node, attempt: d.attempt, estimateMs: d.estimate.totalMs, deadlineMet: d.deadlineMet }, "task assigned");
      } else if (type === "tide.task.rescheduled.v1") {
        stats.rescheduled++;
        log.warn({ task: decision.taskId, ...decision.event.data }, "task rescheduled");
      } else {
        stats.abandoned++;
        log.warn({ task: decision.taskId, ...decision.event.data }, "task abandoned");
      }
    } catch (error) {
      if (error instanceof ConcurrencyError) {
        stats.conflicts++;
        stale.set(decision.taskId, decision.expectedSeq);
        log.debug({ task: decision.taskId, expected: decision.expectedSeq }, "decision lost the race: dropped");
        return;
      }
      stats.errors++;
      log.warn({ task: decision.taskId, err: errorMessage(error) }, "decision not appended; the next round decides again");
    }
  }

  async function appendAll(decisions: Decision[], now: number): Promise<void> {
    const fresh = decisions.filter((d) => stale.get(d.taskId) !== d.expectedSeq);
    for (let i = 0; i < fresh.length; i += maxInFlight) await Promise.all(fresh.slice(i, i + maxInFlight).map((d) => append(d, now)));
  }

  async function runRound(): Promise<void> {
    stats.rounds++;
    for (const [taskId, seq] of stale) if ((state.tasks.get(taskId)?.lastSeq ?? Infinity) !== seq) stale.delete(taskId);
    await appendAll(decide({ type: "supervise", now: Date.now() }, state, config), Date.now());
    const now = Date.now();
    await appendAll(decide({ type: "place", now, scheduler: id }, state, config), now);
  }

  /** One round now (or right after the one running): supervise, then place. */
  const rounds = createSerialRounds(runRound, {
    onError: (error) => {
      stats.errors++;
      log.error({ err: errorMessage(error) }, "scheduling round failed");
    },
    repeat: () => autoRun,
  });
  const round = rounds.round;

  return {
    id,
    config,
    stats,
    /** The current state (read-only). */
    state: (): SchedulerState => state,
    /** Rebuild the state from TASKS and NODES; resolves once caught up (then rounds start, with autoRun). */
    async start(): Promise<void> {
      feed = startControlFeed({
        nc,
        streams: ["TASKS", "NODES"],
        logger: log,
        onEvent: ({ event, seq, storedAt, subject }) => {
          apply(event, seq, storedAt, subject);
          if (ready && autoRun && POKES.has(event.type)) void round();
        },
      });
      await feed.caughtUp;
      ready = true;
      log.info({ tasks: state.tasks.size, nodes: state.nodes.size, finished: state.finished }, "scheduler caught up");
      if (autoRun) {
        timer = setInterval(() => void round(), tickMs);
        void round();
      }
    },
    round,
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      ready = false;
      await rounds.current();
      await feed?.stop();
    },
  };
}
/** A scheduler replica. */
export type Scheduler = ReturnType<typeof createScheduler>;
