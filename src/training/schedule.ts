import { AckPolicy, DeliverPolicy, type NatsConnection } from "nats";
import { errorMessage } from "../errors.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { TrainingConfig } from "./config.ts";
import { READINGS_SUBJECT } from "./dataset-reader.ts";
import type { RunBook } from "./run-book.ts";

/** What the schedule decides on. */
export interface ScheduleState {
  now: number;
  /** Readings in the cloud READINGS after the newest one any run trained on. */
  newReadings: number;
  /** When the schedule clock last reset: the newest request (any reason) or the service start. */
  since: number;
  /** A run is requested or running. */
  inFlight: boolean;
}

/** Request a run (with why, as its detail), or not. */
export type ScheduleDecision = { request: true; detail: string } | { request: false };

/**
 * The schedule: a run once `everyReadings` new readings reached the cloud, or
 * every `everyMinutes` when there is anything new. Never while a run is in
 * flight (requests would only pile up), never without new readings.
 */
export function decideSchedule(config: TrainingConfig["schedule"], state: ScheduleState): ScheduleDecision {
  const { everyReadings, everyMinutes } = config;
  if (state.inFlight || state.newReadings === 0) return { request: false };
  if (everyReadings > 0 && state.newReadings >= everyReadings) {
    return { request: true, detail: `${state.newReadings} new reading(s) since the last run's data (every ${everyReadings} readings)` };
  }
  const minutes = (state.now - state.since) / 60_000;
  if (everyMinutes > 0 && minutes >= everyMinutes) {
    return { request: true, detail: `${Math.floor(minutes)} min since the last request, ${state.newReadings} new reading(s) (every ${everyMinutes} min)` };
  }
  return { request: false };
}

/** Readings stored after `seq` in the cloud READINGS: the pending count of a throwaway consumer, no message read. */
export async function countReadingsAfter(nc: NatsConnection, seq: number): Promise<number> {
  const jsm = await nc.jetstreamManager({ domain: CLOUD_DOMAIN });
  const info = await jsm.consumers.add("READINGS", {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq + 1,
    filter_subject: READINGS_SUBJECT,
    mem_storage: true,
    inactive_threshold: 30_000_000_000,
  });
  await jsm.consumers.delete("READINGS", info.name).catch(() => undefined);
  return info.num_pending;
}

/** What the schedule reads and how it asks for a run. */
export interface ScheduleOptions {
  nc: NatsConnection;
  runs: RunBook;
  config: Readonly<TrainingConfig>;
  request: (detail: string) => Promise<unknown>;
  logger: Logger;
  now?: () => number;
}

/** Check the schedule every `checkSeconds`; a failed check is logged and tried again next time. */
export function startSchedule(options: ScheduleOptions) {
  const { nc, runs, config, request, logger, now = Date.now } = options;
  const { everyReadings, everyMinutes, checkSeconds } = config.schedule;
  const startedAt = now();
  let checking = false;
  async function check(): Promise<ScheduleDecision> {
    if (checking || runs.inFlight()) return { request: false };
    const since = Math.max(startedAt, runs.lastRequestedAt() ?? 0);
    // Counting asks the server; skip it while only the clock could trigger and it is not time yet.
    if (everyReadings === 0 && now() - since < everyMinutes * 60_000) return { request: false };
    checking = true;
    try {
      const newReadings = await countReadingsAfter(nc, runs.lastDataSeq());
      const decision = decideSchedule(config.schedule, { now: now(), newReadings, since, inFlight: runs.inFlight() });
      if (decision.request) {
        await request(decision.detail);
        logger.info({ detail: decision.detail }, "scheduled training requested");
      }
      return decision;
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, "schedule check failed");
      return { request: false };
    } finally {
      checking = false;
    }
  }
  const enabled = everyReadings > 0 || everyMinutes > 0;
  const timer = enabled ? setInterval(() => void check(), checkSeconds * 1000) : undefined;
  timer?.unref();
  return {
    check,
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
