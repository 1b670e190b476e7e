import type { NatsConnection } from "nats";
import { ConcurrencyError, errorMessage } from "../errors.ts";
import { createEvent } from "../events/envelope.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { startControlFeed, type ControlFeed } from "../store/control-feed.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import { DEFAULT_LIVENESS_CONFIG, decideLiveness, evolveLiveness, initialLiveness, isNodeEvent, type LivenessConfig, type LivenessState } from "./liveness.ts";

/** What the node-loss detector needs. */
export interface NodeMonitorOptions {
  nc: NatsConnection;
  logger?: Logger;
  config?: Partial<LivenessConfig>;
  /** How often silence is checked (default 250 ms). */
  checkMs?: number;
}

/**
 * The node-loss detector: follows NODES and appends `tide.node.lost.v1` for a
 * node that missed its heartbeats. The append expects the node subject's last
 * sequence, so a heartbeat that lands first cancels the verdict, and two
 * monitors never both declare it. After its own start it waits one full
 * silence threshold before judging anyone: a cloud that was down saw no beats.
 */
export function startNodeMonitor(options: NodeMonitorOptions) {
  const { nc, logger = silentLogger, checkMs = 250 } = options;
  const config: LivenessConfig = { ...DEFAULT_LIVENESS_CONFIG, ...options.config };
  const log = logger.child({ component: "node-monitor" });
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const startedAt = Date.now();
  let state: LivenessState = initialLiveness();
  let feed: ControlFeed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let declared = 0;

  async function check(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const now = Date.now();
      for (const decision of decideLiveness({ type: "detect", now }, state, config)) {
        const interval = state.nodes.get(decision.node)?.heartbeatMs ?? config.defaultHeartbeatMs;
        if (now - startedAt <= config.missedBeats * interval) continue;
        try {
          await appendToStream(js, subjects.node(decision.node), createEvent(decision.event, { source: "tide://cloud/node-monitor" }), { expectedLastSubjectSequence: decision.expectedSeq });
          declared++;
          log.warn(decision.event.data, "node lost");
        } catch (error) {
          if (!(error instanceof ConcurrencyError)) log.warn({ node: decision.node, err: errorMessage(error) }, "node.lost not appended");
        }
      }
    } finally {
      checking = false;
    }
  }

  return {
    get declared() {
      return declared;
    },
    async start(): Promise<void> {
      feed = startControlFeed({
        nc,
        streams: ["NODES"],
        logger: log,
        onEvent: (stored) => {
          if (isNodeEvent(stored.event)) state = evolveLiveness(state, { ...stored, event: stored.event });
        },
      });
      await feed.caughtUp;
      timer = setInterval(() => void check(), checkMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await feed?.stop();
    },
  };
}
/** A running node-loss detector. */
export type NodeMonitor = ReturnType<typeof startNodeMonitor>;
