import type { JetStreamClient } from "nats";
import { randomBytes } from "node:crypto";
import { ValidationError } from "../errors.ts";
import { parseEventBody, type EventData, type TideEventBody } from "../events/catalogue.ts";
import { createEvent } from "../events/envelope.ts";
import { subjects } from "../events/subjects.ts";
import { appendToStream } from "../store/append-to-stream.ts";

// A run lives on its own subject, tide.training.<runId>: the request opens it, the
// trainer's events follow, each appended expecting the one before it.

/** Refuses an event its schema refuses: JSON would turn a NaN loss into null, and a stored event must always decode. */
function checked<B extends TideEventBody>(body: B): B {
  const parsed = parseEventBody(body.type, body.data);
  if (!parsed.success) throw new ValidationError(`refusing to append an invalid ${body.type}: ${parsed.issues.join("; ")}`, parsed.issues);
  return body;
}

/** What a trigger asks for; `runId` is made here. */
export type TrainingRequest = Omit<EventData<"tide.training.requested.v1">, "runId" | "force"> & { force?: boolean };

/** `run-20250101T120000-3fa9c2`: sortable by time, unique, one subject token. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "");
  return `run-${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * Append a `tide.training.requested.v1` on the run's own subject. Every trigger
 * (CLI, HTTP, schedule, drift) goes through here; a trainer picks it up.
 * The append expects the subject to be empty: a run id is never reused.
 */
export async function requestTraining(js: JetStreamClient, request: TrainingRequest, source: string): Promise<{ runId: string; seq: number }> {
  const runId = newRunId();
  const event = createEvent(checked({ type: "tide.training.requested.v1", data: { ...request, force: request.force ?? false, runId } }), { source });
  const { seq } = await appendToStream(js, subjects.training(runId), event, { expectedLastSubjectSequence: 0 });
  return { runId, seq };
}

/**
 * Appends a run's events on its subject, each expecting the one before it.
 * The first append (after the request) is the claim: of two trainers, only
 * one gets it in. Later appends fail with a ConcurrencyError if anyone else
 * wrote on the run (e.g. a sweep that declared this trainer dead): the run
 * then belongs to that outcome, and this trainer stops.
 */
export function createRunJournal(js: JetStreamClient, runId: string, lastSeq: number, source: string) {
  let expected = lastSeq;
  return {
    async append(body: TideEventBody): Promise<number> {
      const event = createEvent(checked(body), { source });
      const { seq } = await appendToStream(js, subjects.training(runId), event, { expectedLastSubjectSequence: expected, timeoutMs: 5000 });
      expected = seq;
      return seq;
    },
    /** Seq of the run's last event as this journal knows it. */
    get lastSeq(): number {
      return expected;
    },
  };
}
export type RunJournal = ReturnType<typeof createRunJournal>;
