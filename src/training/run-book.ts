import type { EventData, TideEvent } from "../events/catalogue.ts";
import type { TrainingStage } from "../events/training.ts";
import type { StoredEvent } from "../store/read-stream.ts";

/** Where a run is: requested (unclaimed), running (claimed), or ended. */
export type RunStatus = "requested" | "running" | "completed" | "failed";

/** One training run as the TRAINING stream tells it. */
export interface RunState {
  runId: string;
  status: RunStatus;
  request: EventData<"tide.training.requested.v1">;
  requestedAt: string;
  /** Stream seq of the request: a trainer claims the run by appending `started` expecting exactly this. */
  requestedSeq: number;
  /** Seq and time of the run's newest event: the next append on its subject must expect this seq. */
  lastSeq: number;
  lastAt: string;
  trainer?: string;
  fromSeq?: number;
  toSeq?: number;
  epochs?: number;
  epochsDone: number;
  version?: string;
  published?: boolean;
  failure?: { reason: string; stage?: TrainingStage };
}

type TrainingEvent = TideEvent<
  "tide.training.requested.v1" | "tide.training.started.v1" | "tide.training.epoch.completed.v1" | "tide.training.completed.v1" | "tide.training.failed.v1"
>;

function isTrainingEvent(event: TideEvent): event is TrainingEvent {
  return event.type.startsWith("tide.training.");
}

/**
 * The state of every run, folded from TRAINING events in stream order. The
 * trainer keeps one to find requests nobody has claimed and runs whose
 * trainer died; the schedule reads it for the last run's data range.
 */
export function createRunBook() {
  const runs = new Map<string, RunState>();

  function evolve(run: RunState, event: TrainingEvent): void {
    switch (event.type) {
      case "tide.training.requested.v1":
        return; // a second request with the same run id changes nothing (ids are unique; appends expect 0)
      case "tide.training.started.v1":
        Object.assign(run, { status: "running", trainer: event.data.trainer, fromSeq: event.data.fromSeq, toSeq: event.data.toSeq, epochs: event.data.epochs });
        return;
      case "tide.training.epoch.completed.v1":
        run.epochsDone = event.data.epoch;
        return;
      case "tide.training.completed.v1":
        Object.assign(run, { status: "completed", version: event.data.version, published: event.data.published });
        return;
      case "tide.training.failed.v1":
        run.status = "failed";
        run.failure = { reason: event.data.reason, ...(event.data.stage ? { stage: event.data.stage } : {}) };
        return;
      default: {
        const never: never = event;
        throw new Error(`unhandled training event ${(never as TideEvent).type}`);
      }
    }
  }

  return {
    /** Fold one stored event; events of other families, and of runs never requested, are ignored. */
    apply(stored: StoredEvent): void {
      const { event } = stored;
      if (!isTrainingEvent(event)) return;
      let run = runs.get(event.data.runId);
      if (event.type === "tide.training.requested.v1" && !run) {
        run = { runId: event.data.runId, status: "requested", request: event.data, requestedAt: event.metadata.time, requestedSeq: stored.seq, lastSeq: stored.seq, lastAt: event.metadata.time, epochsDone: 0 };
        runs.set(run.runId, run);
        return;
      }
      if (!run) return;
      evolve(run, event);
      run.lastSeq = stored.seq;
      run.lastAt = event.metadata.time;
    },
    get: (runId: string): RunState | undefined => runs.get(runId),
    all: (): RunState[] => [...runs.values()],
    /** Requested and not claimed yet, oldest first. */
    pending: (): RunState[] => [...runs.values()].filter((r) => r.status === "requested").sort((a, b) => a.requestedSeq - b.requestedSeq),
    running: (): RunState[] => [...runs.values()].filter((r) => r.status === "running"),
    /** A run is requested or running: triggers wait rather than pile up requests. */
    inFlight: (): boolean => [...runs.values()].some((r) => r.status === "requested" || r.status === "running"),
    /** Time of the newest request (any reason), epoch ms; undefined before the first. */
    lastRequestedAt(): number | undefined {
      const times = [...runs.values()].map((r) => Date.parse(r.requestedAt));
      return times.length ? Math.max(...times) : undefined;
    },
    /** The newest READINGS seq any run trained on (0 before the first): what "new readings" count from. */
    lastDataSeq: (): number => Math.max(0, ...[...runs.values()].map((r) => r.toSeq ?? 0)),
    /** The newest request of a reason, for cooldowns. */
    lastRequestOf(reason: RunState["request"]["reason"]): RunState | undefined {
      return [...runs.values()].filter((r) => r.request.reason === reason).sort((a, b) => b.requestedSeq - a.requestedSeq)[0];
    },
  };
}
export type RunBook = ReturnType<typeof createRunBook>;
