import type { NatsConnection } from "nats";
import { randomBytes } from "node:crypto";
import { ConcurrencyError, errorMessage } from "../errors.ts";
import { createEvent, type TideEvent } from "../events/index.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import { startControlFeed, type ControlFeed } from "../store/control-feed.ts";
import { forgedOrigin } from "../store/source-origin.ts";
import { createSerialRounds } from "../control/serial-rounds.ts";
import { decide } from "./decide.ts";
import { evolve, initialState } from "./evolve.ts";
import { DEFAULT_CRITERIA, type Decision, type Folded, type RolloutConfig, type RolloutState } from "./types.ts";

export interface RolloutControllerOptions {
  nc: NatsConnection;
  /** The fleet's edges; the rest of the config has defaults. */
  config: Partial<RolloutConfig> & { edges: readonly string[] };
  logger?: Logger;
  /** This replica's name (default: random). */
  id?: string;
  /** Rounds at least this often (timeouts), and at once after a relevant event (default 500 ms). */
  tickMs?: number;
  /** Run rounds by itself (default true); false: only when `round()` is called (tests). */
  autoRun?: boolean;
}

const FOLLOWED: ReadonlyArray<Folded["stream"]> = ["ROLLOUTS", "MODELS", "NODES"];

const POKES = new Set<string>([
  "tide.rollout.requested.v1",
  "tide.rollout.planned.v1",
  "tide.rollout.stage.started.v1",
  "tide.rollout.stage.completed.v1",
  "tide.rollout.completed.v1",
  "tide.rollout.rolled_back.v1",
  "tide.rollout.rejected.v1",
  "tide.model.published.v1",
  "tide.model.activated.v1",
  "tide.model.activation_failed.v1",
  "tide.model.observed.v1",
]);

/**
 * The rollout controller: an event-sourced process manager. Its whole state
 * is folded from ROLLOUTS, MODELS (published models, edges' activation and
 * observation reports) and NODES (which edges are lost, left out of new
 * plans), from the first event, so a controller restarted mid-rollout carries
 * on where the streams say it is. Each decision is
 * appended on the rollout's subject expecting its last sequence: when another
 * replica decided first, the append fails and this one decides again on the
 * newer state, so two replicas never both decide.
 */
export function createRolloutController(options: RolloutControllerOptions) {
  const { nc, logger = silentLogger, tickMs = 500, autoRun = true } = options;
  const config: RolloutConfig = { criteria: DEFAULT_CRITERIA, auto: "off", canaries: 1, ...options.config };
  const id = options.id ?? `rollout-controller-${randomBytes(3).toString("hex")}`;
  const log = logger.child({ component: "rollout-controller", controller: id });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const source = `tide://cloud/${id}`;
  const stats = { rounds: 0, decisions: 0, conflicts: 0, errors: 0 };
  /** Decisions that lost a race, by rollout: not retried until the rollout's subject moves past what they expected. */
  const stale = new Map<string, number>();
  let state: RolloutState = initialState();
  let feed: ControlFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ready = false;

  async function append(decision: Decision): Promise<void> {
    const subject = subjects.rollout(decision.rolloutId);
    const event = createEvent(decision.event, { source }) as TideEvent;
    try {
      const ack = await appendToStream(js, subject, event, { expectedLastSubjectSequence: decision.expectedSeq });
      state = evolve(state, { stream: "ROLLOUTS", seq: ack.seq, subject, storedAt: event.metadata.time, event });
      stats.decisions++;
      log.info({ rollout: decision.rolloutId, type: decision.event.type, ...summary(decision) }, "rollout decision");
    } catch (error) {
      if (error instanceof ConcurrencyError) {
        stats.conflicts++;
        stale.set(decision.rolloutId, decision.expectedSeq);
        log.debug({ rollout: decision.rolloutId, expected: decision.expectedSeq }, "decision lost the race: dropped");
        return;
      }
      stats.errors++;
      log.warn({ rollout: decision.rolloutId, err: errorMessage(error) }, "decision not appended; the next round decides again");
    }
  }

  async function runRound(): Promise<void> {
    stats.rounds++;
    for (const [rolloutId, seq] of stale) if ((state.rollouts.get(rolloutId)?.lastSeq ?? 0) !== seq) stale.delete(rolloutId);
    const decisions = decide(state, Date.now(), config).filter((d) => stale.get(d.rolloutId) !== d.expectedSeq);
    for (const decision of decisions) await append(decision);
  }

  const rounds = createSerialRounds(runRound, {
    onError: (error) => {
      stats.errors++;
      log.error({ err: errorMessage(error) }, "rollout round failed");
    },
    repeat: () => ready && autoRun,
  });
  const round = rounds.round;

  return {
    id,
    config,
    stats,
    state: (): RolloutState => state,
    /** Rebuild the state from ROLLOUTS, MODELS and NODES; once caught up, decide on every relevant event and every tick (with autoRun). */
    async start(): Promise<void> {
      feed = startControlFeed({
        nc,
        streams: FOLLOWED,
        logger: log,
        // An edge's reports reach MODELS through its REPORTS stream: one that claims another edge is not believed.
        refuse: forgedOrigin,
        onEvent: ({ event, seq, storedAt, subject }, stream) => {
          state = evolve(state, { stream: stream as Folded["stream"], seq, storedAt, subject, event });
          if (ready && autoRun && POKES.has(event.type)) void round();
        },
      });
      await feed.caughtUp;
      ready = true;
      log.info({ rollouts: state.rollouts.size, published: state.published.size, edgesLost: [...state.liveness.values()].filter((l) => l.lost).length }, "rollout controller caught up");
      if (autoRun) {
        timer = setInterval(() => void round(), tickMs);
        void round();
      }
    },
    round,
    async stop(): Promise<void> {
      ready = false;
      if (timer) clearInterval(timer);
      await rounds.current();
      await feed?.stop();
    },
  };
}
export type RolloutController = ReturnType<typeof createRolloutController>;

function summary(decision: Decision): Record<string, unknown> {
  const e = decision.event;
  switch (e.type) {
    case "tide.rollout.stage.started.v1":
      return { stage: e.data.name, edges: e.data.edges };
    case "tide.rollout.rolled_back.v1":
    case "tide.rollout.rejected.v1":
      return { reason: e.data.reason };
    default:
      return { version: "version" in e.data ? e.data.version : undefined };
  }
}
