import type { NatsConnection, Subscription } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../errors.ts";
import type { TfBackend } from "../events/inference.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import type { Tf } from "../model/backend.ts";
import type { ModelSigner } from "../model/signing.ts";
import type { DecodeFailure } from "../events/envelope.ts";
import { readStream, type StoredMessage } from "../store/read-stream.ts";
import type { TrainingConfig } from "./config.ts";
import { failOrphanedRuns, newTrainerId, trainerPingSubject } from "./recovery.ts";
import { createRunBook } from "./run-book.ts";
import { executeRun, type RunOutcome } from "./run-training.ts";

/** What a trainer runs against and with. */
export interface TrainerOptions {
  nc: NatsConnection;
  tf: Tf;
  backend: TfBackend;
  config: Readonly<TrainingConfig>;
  logger?: Logger;
  /** Defaults to a fresh id (host, pid, random). */
  trainerId?: string;
  /** Signs every published model (ed25519); without one, models are published unsigned and edges refuse them. */
  signer?: ModelSigner;
}

/**
 * The cloud trainer. It folds the TRAINING stream into a run book, answers
 * pings while it lives, fails the runs of trainers that died mid-run, and
 * works through unclaimed requests one at a time, oldest first. Several
 * trainers may run against one hub: optimistic concurrency on each run's
 * subject lets exactly one of them claim a request.
 */
export function createTrainer(options: TrainerOptions) {
  const { nc, tf, backend, config, logger = silentLogger } = options;
  const trainerId = options.trainerId ?? newTrainerId();
  const log = logger.child({ trainer: trainerId });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const source = `tide://cloud/trainer/${trainerId}`;
  const book = createRunBook();
  const attempted = new Set<string>();
  const stopping = new AbortController();
  const outcomes: Array<{ runId: string } & RunOutcome> = [];
  let current: { runId: string; done: Promise<void> } | undefined;
  let ping: Subscription | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let tail: Promise<void> | undefined;
  let idleWaiters: Array<() => void> = [];

  const onInvalid = (m: StoredMessage, failure: DecodeFailure) => log.warn({ seq: m.seq, subject: m.subject, err: failure.message }, "invalid TRAINING event skipped");
  const next = () => book.pending().find((r) => !attempted.has(r.runId));
  const wakeIdle = () => {
    if (current || next()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };

  function kick(): void {
    if (current || stopping.signal.aborted) return wakeIdle();
    const run = next();
    if (!run) return wakeIdle();
    attempted.add(run.runId);
    const done = executeRun({ nc, js, tf, backend, config, trainerId, source, ...(options.signer ? { signer: options.signer } : {}), logger: log, signal: stopping.signal }, run)
      // executeRun records its own failures; this only keeps a bug in it from wedging the trainer.
      .catch((error: unknown): RunOutcome => ({ outcome: "failed", stage: "training", reason: errorMessage(error) }))
      .then((outcome) => {
        outcomes.push({ runId: run.runId, ...outcome });
        current = undefined;
        kick();
      });
    current = { runId: run.runId, done };
  }

  const sweep = () =>
    failOrphanedRuns({ nc, js, trainerId, isCurrent: (runId) => current?.runId === runId, pingTimeoutMs: config.recovery.pingTimeoutMs, source, logger: log }, book.running()).catch(
      (error: unknown) => log.warn({ err: errorMessage(error) }, "orphan sweep failed"),
    );

  /** Follow new TRAINING events; a broken read (hub restart) resumes after the last seen seq. */
  async function follow(fromSeq: number): Promise<void> {
    for (let attempt = 0; !stopping.signal.aborted; attempt++) {
      try {
        for await (const stored of readStream(nc, { stream: "TRAINING", domain: CLOUD_DOMAIN, fromSeq, follow: true, signal: stopping.signal, onInvalid })) {
          fromSeq = stored.seq + 1;
          attempt = 0;
          book.apply(stored);
          if (stored.event.type === "tide.training.requested.v1") kick();
        }
      } catch (error) {
        if (stopping.signal.aborted) break;
        log.warn({ err: errorMessage(error) }, "TRAINING read failed; retrying");
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5))).catch(() => undefined);
      }
    }
  }

  return {
    trainerId,
    /** The runs as this trainer knows them. */
    runs: book,
    /** What each run this trainer attempted came to. */
    outcomes: (): ReadonlyArray<{ runId: string } & RunOutcome> => outcomes,
    currentRun: (): string | undefined => current?.runId,
    /** Catch up on TRAINING, answer pings, fail orphaned runs, then take requests. */
    async start(): Promise<void> {
      let lastSeq = 0;
      for await (const stored of readStream(nc, { stream: "TRAINING", domain: CLOUD_DOMAIN, onInvalid })) {
        book.apply(stored);
        lastSeq = stored.seq;
      }
      ping = nc.subscribe(trainerPingSubject(trainerId), { callback: (_error, msg) => void msg.respond(new Uint8Array(0)) });
      await sweep();
      sweepTimer = setInterval(() => void sweep(), config.recovery.sweepSeconds * 1000);
      sweepTimer.unref();
      tail = follow(lastSeq + 1);
      log.info({ pending: book.pending().length, runs: book.all().length }, "trainer up");
      kick();
    },
    /** Resolves when no run is going on and no unclaimed request is left (for tests and benchmarks). */
    idle(): Promise<void> {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        wakeIdle();
      });
    },
    /** Stop taking requests; a run in progress ends `failed` (stage `shutdown`) after its current epoch. */
    async stop(): Promise<void> {
      stopping.abort();
      if (sweepTimer) clearInterval(sweepTimer);
      await current?.done;
      await tail;
      await ping?.drain().catch(() => undefined);
      wakeIdle();
    },
  };
}
export type Trainer = ReturnType<typeof createTrainer>;
