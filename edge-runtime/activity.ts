import type { NatsConnection, Subscription } from "nats";
import { errorMessage } from "../src/errors.ts";
import { decodeEvent, subjects, type TideEvent } from "../src/events/index.ts";
import type { EdgeActivity, RecentDecision } from "../src/events/node.ts";
import type { EdgeId } from "../src/ids.ts";
import { silentLogger, type Logger } from "../src/log.ts";
import type { PredictionResult, Predictor } from "./pipeline/pipeline.ts";

/** An anomaly score at least this counts as an anomaly (the same scale as the offload threshold). */
export const ANOMALY_SCORE = 4;

/** Decisions an edge keeps (and reports in its heartbeats) for people to see. */
const RECENT_DECISIONS = 8;

export interface ActivityOptions {
  nc: NatsConnection;
  edge: EdgeId;
  logger?: Logger;
  /** Called with every prediction of the pipeline's predictor (metrics observe latencies here). */
  onPrediction?: (result: PredictionResult) => void;
}

/**
 * What an edge did, for its heartbeats, its `/metrics` and the dashboard:
 * predictions and anomalies (by wrapping the pipeline's predictor) and the
 * decisions it made (it listens on its own `tide.decision.<edge>.*`: the
 * pipeline's appends are publishes the edge server also delivers to
 * subscribers, so nothing in the pipeline changes for this).
 */
export function startEdgeActivity(options: ActivityOptions) {
  const { nc, edge, logger = silentLogger, onPrediction } = options;
  const log = logger.child({ component: "activity" });
  const counts = { predictions: 0, anomalies: 0, decisions: 0, byAction: {} as Record<string, number> };
  const recent: RecentDecision[] = [];

  function onDecision(event: TideEvent<"tide.decision.made.v1">): void {
    const d = event.data;
    counts.decisions++;
    counts.byAction[d.action] = (counts.byAction[d.action] ?? 0) + 1;
    recent.push({ device: d.device, action: d.action, basis: d.basis, ...(d.modelVersion ? { modelVersion: d.modelVersion } : {}), reason: d.reason, at: event.metadata.time });
    if (recent.length > RECENT_DECISIONS) recent.shift();
  }

  const subscription: Subscription = nc.subscribe(subjects.decision(edge, "*"), {
    callback(error, msg) {
      if (error) return log.warn({ err: errorMessage(error) }, "decision subscription error");
      const decoded = decodeEvent(msg.headers, msg.data);
      if (decoded.success && decoded.event.type === "tide.decision.made.v1") onDecision(decoded.event as TideEvent<"tide.decision.made.v1">);
    },
  });

  return {
    counts,
    /** The pipeline's predictor, observed. */
    observe(predictor: Predictor): Predictor {
      return {
        async predict(input) {
          const result = await predictor.predict(input);
          counts.predictions++;
          if (result.anomalyScore >= ANOMALY_SCORE) counts.anomalies++;
          onPrediction?.(result);
          return result;
        },
      };
    },
    /** The newest decisions, oldest first. */
    recentDecisions: (): RecentDecision[] => [...recent],
    /** The heartbeat's `activity`, given what ingest and the uplink report. */
    report(extra: Omit<EdgeActivity, "predictions" | "anomalies" | "decisions" | "recentDecisions">): EdgeActivity {
      return { ...extra, predictions: counts.predictions, anomalies: counts.anomalies, decisions: counts.decisions, recentDecisions: [...recent] };
    },
    stop(): void {
      if (!nc.isClosed()) subscription.unsubscribe();
    },
  };
}
export type Activity = ReturnType<typeof startEdgeActivity>;
