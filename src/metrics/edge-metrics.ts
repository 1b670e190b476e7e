import { Histogram } from "prom-client";
import type { NatsConnection } from "nats";
import type { PredictionResult } from "../../edge-runtime/pipeline/pipeline.ts";
import { readGauge, totalCounter, type Labelled, type Registry } from "./registry.ts";

/** What an edge's metrics read at scrape time. */
export interface EdgeMetricSources {
  nc: NatsConnection;
  domain: string;
  ingest: { stats: { accepted: number; duplicates: number; rejected: number; failed: number; shed: number } };
  pipeline: { stats: { processed: number; decisions: number; offloaded: number; offloadUsed: number; failed: number }; queueDepth(): number };
  activity: { counts: { predictions: number; anomalies: number; byAction: Record<string, number> } };
  model: () => { version: string; backend: string };
  link?: () => { connected: boolean; backlog: number; rttMs?: number };
  taskQueueDepth: () => number;
}

/** Seconds buckets for one prediction (micro-batched TF.js on a small machine: sub-ms to a few hundred ms). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * An edge's Prometheus metrics: ingest outcomes, dead letters, predictions,
 * anomalies, decisions by action, offloads, the inference latency histogram,
 * the uplink (connected, backlog = lag, RTT), the active model and the queues.
 * Created before the pipeline (its histogram observes predictions); the
 * sources are bound once the runtime is up.
 */
export function createEdgeMetrics(registry: Registry) {
  let sources: EdgeMetricSources | undefined;
  const read = (f: (s: EdgeMetricSources) => Labelled): Labelled => (sources ? f(sources) : []);
  const inferenceLatency = new Histogram({
    name: "tide_edge_inference_latency_seconds",
    help: "Time from predict() to its answer (queueing and micro-batching included), by basis (model or baseline)",
    labelNames: ["basis"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  totalCounter(registry, { name: "tide_edge_readings_total", help: "Payloads the edge ingest handled, by outcome", labelNames: ["outcome"] }, () =>
    read(({ ingest: { stats } }) => [[{ outcome: "stored" }, stats.accepted], [{ outcome: "duplicate" }, stats.duplicates], [{ outcome: "rejected" }, stats.rejected], [{ outcome: "failed" }, stats.failed], [{ outcome: "shed" }, stats.shed]] as const),
  );
  totalCounter(registry, { name: "tide_edge_dead_letters_total", help: "Payloads the edge ingest rejected into its DLQ" }, () => read((s) => [[{}, s.ingest.stats.rejected]] as const));
  readGauge(registry, { name: "tide_dlq_messages", help: "Messages in the DLQ stream of this place" }, async () => {
    if (!sources) return [];
    const jsm = await sources.nc.jetstreamManager({ domain: sources.domain });
    return [[{}, (await jsm.streams.info("DLQ")).state.messages]] as const;
  });
  totalCounter(registry, { name: "tide_edge_inferences_total", help: "Readings inferred and decided (events stored)" }, () => read((s) => [[{}, s.pipeline.stats.processed]] as const));
  totalCounter(registry, { name: "tide_edge_anomalies_total", help: "Predictions with an anomaly score of at least 4" }, () => read((s) => [[{}, s.activity.counts.anomalies]] as const));
  totalCounter(registry, { name: "tide_edge_decisions_total", help: "Cooling decisions (state changes, each with a command), by action", labelNames: ["action"] }, () =>
    read((s) => Object.entries(s.activity.counts.byAction).map(([action, n]) => [{ action }, n] as const)),
  );
  totalCounter(registry, { name: "tide_edge_offloads_total", help: "Joint inference: predictions offloaded to the cloud, by whether the cloud answered in time", labelNames: ["answered"] }, () =>
    read(({ pipeline: { stats } }) => [[{ answered: "yes" }, stats.offloadUsed], [{ answered: "no" }, stats.offloaded - stats.offloadUsed]] as const),
  );
  readGauge(registry, { name: "tide_edge_uplink_connected", help: "1 when the hub answers across the leaf link" }, () => read((s) => (s.link ? [[{}, s.link().connected ? 1 : 0]] : [])));
  readGauge(registry, { name: "tide_edge_uplink_backlog_messages", help: "Uplink lag: UPLINK messages the cloud does not hold yet" }, () => read((s) => (s.link ? [[{}, s.link().backlog]] : [])));
  readGauge(registry, { name: "tide_edge_uplink_rtt_seconds", help: "Round trip to the hub's JetStream across the leaf link" }, () =>
    read((s) => {
      const rtt = s.link?.().rttMs;
      return rtt === undefined ? [] : [[{}, rtt / 1000]];
    }),
  );
  readGauge(registry, { name: "tide_edge_model_info", help: "The active model version and TF.js backend (value 1)", labelNames: ["version", "backend"] }, () =>
    read((s) => [[s.model(), 1]] as const),
  );
  readGauge(registry, { name: "tide_edge_queue_depth", help: "Work waiting on the edge, by queue", labelNames: ["queue"] }, () =>
    read((s) => [[{ queue: "pipeline" }, s.pipeline.queueDepth()], [{ queue: "tasks" }, s.taskQueueDepth()]] as const),
  );
  return {
    registry,
    observePrediction(result: PredictionResult): void {
      inferenceLatency.observe({ basis: result.basis }, result.latencyMs / 1000);
    },
    bind(bound: EdgeMetricSources): void {
      sources = bound;
    },
  };
}
export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;
