import type { JetStreamClient, NatsConnection } from "nats";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { ConcurrencyError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { RunState } from "./run-book.ts";
import { createRunJournal } from "./run-events.ts";

/** Core NATS subject a live trainer answers on (not stored in any stream). */
export const trainerPingSubject = (trainerId: string) => `tide.trainer.${trainerId}.ping`;

/** A unique, subject-safe id for one trainer instance: host, pid and a random suffix. */
export function newTrainerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** Whether the trainer answers within `timeoutMs` (a dead one has no responders, which fails at once). */
export async function trainerAlive(nc: NatsConnection, trainerId: string, timeoutMs: number): Promise<boolean> {
  try {
    await nc.request(trainerPingSubject(trainerId), new Uint8Array(0), { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** What the orphan sweep needs. */
export interface RecoveryDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  /** Ourselves: our own runs are orphans when we are not running them (`isCurrent`). */
  trainerId: string;
  isCurrent: (runId: string) => boolean;
  pingTimeoutMs: number;
  source: string;
  logger: Logger;
}

/**
 * Mark `running` runs whose trainer is gone as failed (stage `crash`). A run
 * is orphaned when its trainer does not answer a ping — a process killed
 * mid-run — or when it is ours but we are not running it (we restarted in
 * the same process, or could not record its end). The append expects the
 * run's last seq: if the trainer was alive after all and wrote an epoch in
 * between, the append fails and the run goes on; if ours lands first, that
 * trainer's next append fails and it stops. Either way, one outcome.
 */
export async function failOrphanedRuns(deps: RecoveryDeps, running: readonly RunState[]): Promise<string[]> {
  const { nc, js, trainerId, isCurrent, pingTimeoutMs, source, logger } = deps;
  const failed: string[] = [];
  for (const run of running) {
    if (!run.trainer) continue;
    const ours = run.trainer === trainerId;
    if (ours ? isCurrent(run.runId) : await trainerAlive(nc, run.trainer, pingTimeoutMs)) continue;
    const why = ours ? "this trainer is no longer running it" : `trainer ${run.trainer} does not answer`;
    const reason = `trainer crashed mid-run: ${why} (${run.epochsDone}/${run.epochs ?? "?"} epochs done, last event at ${run.lastAt})`;
    try {
      await createRunJournal(js, run.runId, run.lastSeq, source).append({ type: "tide.training.failed.v1", data: { runId: run.runId, reason, stage: "crash" } });
      failed.push(run.runId);
      logger.warn({ runId: run.runId, trainer: run.trainer }, reason);
    } catch (error) {
      if (error instanceof ConcurrencyError) continue; // the run moved on: its trainer is alive after all, or someone else recorded its end
      logger.warn({ runId: run.runId, err: errorMessage(error) }, "cannot mark an orphaned run failed yet; will retry");
    }
  }
  return failed;
}
