import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from "nats";
import { errorMessage } from "../../src/errors.ts";
import { createEvent, subjects, type TfBackend, type TideEvent } from "../../src/events/index.ts";
import { deterministicId, edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import type { ReadingPoint } from "../../src/model/features.ts";
import { createEventWriter } from "../../src/store/event-writer.ts";
import { decodeStored } from "../../src/store/message-envelope.ts";
import { DEFAULT_COOLING, decideCooling, type CoolingSettings, type CoolingState } from "../control/cooling.ts";
import { createLatencyRecorder } from "./latency.ts";

/** What the pipeline needs from inference: the engine (edge-runtime/inference) is one. */
export interface Predictor {
  predict(input: { device: string; window: ReadingPoint[] }): Promise<PredictionResult>;
}
export interface PredictionResult {
  modelVersion: string;
  /** `baseline` until a model is active (and while a window is too short for it). */
  basis: "model" | "baseline";
  backend?: TfBackend;
  prediction: { temperature: number; humidity?: number };
  anomalyScore: number;
  latencyMs: number;
  inputSeqs: number[];
}

/** Asks the cloud for a second opinion when the edge model is unsure (joint inference). */
export type Offload = (device: string, window: ReadingPoint[]) => Promise<{ modelVersion: string; temperature: number } | undefined>;

export interface PipelineOptions {
  nc: NatsConnection;
  edge: EdgeId;
  predictor: Predictor;
  logger?: Logger;
  /**
   * Readings kept per device for a prediction: a number, or a function read for
   * every reading so the window follows the active model after a hot-swap.
   */
  window?: number | (() => number);
  cooling?: CoolingSettings;
  /** Offload when the anomaly score is at least this (default: never). */
  offloadAboveScore?: number;
  offload?: Offload;
  /** Durable consumer name on READINGS (default `edge-pipeline`). */
  durable?: string;
  /** Told of every prediction the edge's own model (or the baseline) made, with the reading it was made at (rollout scorecards). */
  observe?: (observation: PredictionObservation) => void;
}

/** One prediction, at the reading whose window it saw: the next reading of the device scores it. */
export interface PredictionObservation {
  device: string;
  /** READINGS seq and temperature of the reading the prediction was made at. */
  seq: number;
  temperature: number;
  modelVersion: string;
  /** The edge model's own prediction of the next temperature (before any cloud answer replaced it). */
  predicted: number;
  latencyMs: number;
}

/**
 * reading → features → inference → decision → command. Follows the edge
 * READINGS through a durable consumer; a reading is acked only once its
 * inference (and decision, and command) are stored, so a crash re-processes
 * it, and the deterministic event ids make the re-processing store nothing twice.
 */
export async function startPipeline(options: PipelineOptions) {
  const { nc, edge, predictor, logger = silentLogger, window = 8, cooling = DEFAULT_COOLING, offloadAboveScore, offload, durable = "edge-pipeline", observe } = options;
  const log = logger.child({ component: "pipeline", edge });
  const domain = edgeDomain(edge);
  const js = nc.jetstream({ domain });
  const jsm = await nc.jetstreamManager({ domain });
  const writer = createEventWriter(js);
  const source = `tide://${domain}/inference`;
  const windows = new Map<string, ReadingPoint[]>();
  const control = new Map<string, CoolingState>();
  const chains = new Map<string, Promise<void>>();
  /** Readings decided whose events are not yet stored (acked once they are). */
  const completions = new Set<Promise<void>>();
  const latency = createLatencyRecorder();
  let inFlight = 0;
  const stats = { processed: 0, decisions: 0, commands: 0, offloaded: 0, offloadUsed: 0, failed: 0 };

  await jsm.consumers.add("READINGS", {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `tide.reading.${edge}.>`,
    max_ack_pending: 4096,
    ack_wait: 30_000_000_000,
  });
  const consumer = await js.consumers.get("READINGS", durable);

  /**
   * Decides one reading and starts appending its events; resolves with their
   * storage, wrapped so awaiting this does not wait for it (the caller acks the
   * reading once it resolves). Readings of a
   * device go through here one after another, so their windows, decisions and
   * appends keep reading order; waiting for the appends' acks is not part of it
   * (see the loop below).
   */
  async function process(msg: JsMsg, event: TideEvent<"tide.reading.recorded.v1">): Promise<{ stored: Promise<unknown> }> {
    const { device, temperature, humidity } = event.data;
    const points = windows.get(device) ?? [];
    points.push({ seq: msg.seq, temperature, humidity, device });
    const keep = typeof window === "function" ? window() : window;
    while (points.length > keep) points.shift();
    windows.set(device, points);
    const result = await predictor.predict({ device, window: [...points] });
    observe?.({ device, seq: msg.seq, temperature, modelVersion: result.modelVersion, predicted: result.prediction.temperature, latencyMs: result.latencyMs });
    let offloadInfo: TideEvent<"tide.inference.completed.v1">["data"]["offload"];
    let predicted = result.prediction.temperature;
    if (offload && offloadAboveScore !== undefined && result.anomalyScore >= offloadAboveScore) {
      stats.offloaded++;
      const cloud = await offload(device, [...points]).catch(() => undefined);
      if (cloud) {
        stats.offloadUsed++;
        predicted = cloud.temperature;
        offloadInfo = { requested: true, used: true, cloudModelVersion: cloud.modelVersion, cloudPrediction: cloud.temperature, reason: `anomaly score ${result.anomalyScore.toFixed(2)} >= ${offloadAboveScore}` };
      } else {
        offloadInfo = { requested: true, used: false, reason: "cloud did not answer in time: the edge's prediction is used" };
      }
    }
    const inference = createEvent(
      {
        type: "tide.inference.completed.v1",
        data: {
          edge,
          device,
          modelVersion: result.modelVersion,
          ...(result.backend ? { backend: result.backend } : {}),
          inputSeqs: result.inputSeqs,
          prediction: { temperature: predicted, ...(result.prediction.humidity === undefined ? {} : { humidity: result.prediction.humidity }) },
          anomalyScore: result.anomalyScore,
          latencyMs: result.latencyMs,
          ...(offloadInfo ? { offload: offloadInfo } : {}),
        },
      },
      { source, id: deterministicId("inference", event.metadata.id) },
    );
    const pending: Promise<unknown>[] = [writer.append(subjects.inference(edge, device), inference)];
    const basis = result.basis;
    const decision = decideCooling(control.get(device) ?? { cooling: false }, { basis, temperature: basis === "baseline" ? temperature : predicted }, cooling);
    control.set(device, decision.state);
    if (decision.changed) {
      const decided = createEvent(
        {
          type: "tide.decision.made.v1",
          data: {
            edge,
            device,
            action: decision.action,
            basis,
            ...(basis === "model" ? { modelVersion: result.modelVersion } : {}),
            inferenceId: inference.metadata.id,
            readingSeq: msg.seq,
            reason: decision.reason,
          },
        },
        { source, id: deterministicId("decision", event.metadata.id) },
      );
      const command = createEvent(
        { type: "tide.command.issued.v1", data: { edge, device, command: decision.action, decisionId: decided.metadata.id } },
        { source, id: deterministicId("command", event.metadata.id) },
      );
      pending.push(writer.append(subjects.decision(edge, device), decided));
      // The command subject is captured by INFERENCES (the record) and delivered to the device's subscribers.
      pending.push(writer.append(subjects.command(edge, device), command));
      stats.decisions++;
      stats.commands++;
    }
    return { stored: Promise.all(pending) };
  }

  function failed(msg: JsMsg, error: unknown): void {
    stats.failed++;
    log.warn({ seq: msg.seq, err: errorMessage(error) }, "inference step failed; the reading will be redelivered");
    msg.nak(1000);
  }

  const messages = await consumer.consume({ max_messages: 1000 });
  const loop = (async () => {
    for await (const msg of messages) {
      const decoded = decodeStored(msg);
      if (!decoded.success || decoded.event.type !== "tide.reading.recorded.v1") {
        // Never happens for what ingest wrote; never let it stop the pipeline.
        log.warn({ seq: msg.seq, err: decoded.success ? decoded.event.type : decoded.message }, "not a reading: skipped");
        msg.term();
        continue;
      }
      const event = decoded.event as TideEvent<"tide.reading.recorded.v1">;
      const device = event.data.device;
      inFlight++;
      // Per device in order; devices in parallel, so inference can micro-batch across them. A device's next reading
      // starts once this one's events are sent, not stored: appends from one connection are stored in the order sent,
      // and waiting for each ack would hold every device to one reading per round trip, which collapses under load.
      const next = (chains.get(device) ?? Promise.resolve()).then(async () => {
        let stored: Promise<unknown>;
        try {
          ({ stored } = await process(msg, event));
        } catch (error) {
          failed(msg, error);
          inFlight--;
          return;
        }
        const completion: Promise<void> = stored
          .then(
            () => {
              latency.record(Date.now() - msg.info.timestampNanos / 1_000_000);
              stats.processed++;
              msg.ack();
            },
            (error: unknown) => failed(msg, error),
          )
          .finally(() => {
            inFlight--;
            completions.delete(completion);
          });
        completions.add(completion);
      });
      chains.set(device, next);
      void next.then(() => {
        if (chains.get(device) === next) chains.delete(device);
      });
    }
  })();

  return {
    stats,
    latency,
    /** Readings received but not yet decided. */
    queueDepth: () => inFlight,
    async stop(): Promise<void> {
      await messages.close().catch(() => undefined);
      await loop;
      await Promise.all(chains.values());
      await Promise.all(completions);
    },
  };
}
export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;
