import type { NatsConnection } from "nats";
import { subjects } from "../../events/index.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { readStream } from "../../store/read-stream.ts";
import { datasetHash } from "../../training/dataset.ts";
import { READINGS_SUBJECT } from "../../training/dataset-reader.ts";
import type { TrainingReading } from "../../training/dataset.ts";
import { eventsOf, ofType } from "../read.ts";

/** A training run as its events tell it. */
export interface RunLineage {
  runId: string;
  reason?: string;
  detail?: string;
  requestedAt?: string;
  trainer?: string;
  startedAt?: string;
  backend?: string;
  window?: number;
  /** The cloud READINGS range the run recorded, and its dataset hash. */
  fromSeq?: number;
  toSeq?: number;
  readings?: number;
  devices?: number;
  datasetHash?: string;
  epochs: Array<{ epoch: number; epochs: number; loss: number; valLoss: number; durationMs: number; at: string }>;
  outcome: { status: "completed"; version: string; published: boolean; at: string } | { status: "failed"; reason: string; stage?: string; at: string } | { status: "running" };
}

/** The readings of a recorded range, per device, as the cloud READINGS holds them now. */
export interface DataLineage {
  fromSeq: number;
  toSeq: number;
  /** Readings in the range now. */
  readings: number;
  /** What the run recorded; equal to `readings` unless the stream lost or dropped some. */
  recordedReadings?: number;
  devices: Array<{ edge: string; device: string; readings: number; firstSeq: number; lastSeq: number }>;
  /** The recorded dataset hash and the one recomputed from the readings (window as recorded, the default split). */
  datasetHash?: { recorded: string; recomputed: string; matches: boolean };
}

/** Every event of a run on TRAINING, folded into its story. */
export async function traceRun(cloud: NatsConnection, runId: string): Promise<RunLineage | undefined> {
  const events = await eventsOf(cloud, { stream: "TRAINING", domain: CLOUD_DOMAIN, subject: subjects.training(runId) });
  if (events.length === 0) return undefined;
  const run: RunLineage = { runId, epochs: [], outcome: { status: "running" } };
  for (const { event } of events) {
    switch (event.type) {
      case "tide.training.requested.v1":
        Object.assign(run, { reason: event.data.reason, requestedAt: event.metadata.time, ...(event.data.detail ? { detail: event.data.detail } : {}) });
        break;
      case "tide.training.started.v1": {
        const d = event.data;
        Object.assign(run, { trainer: d.trainer, startedAt: event.metadata.time, backend: d.backend, window: d.window, fromSeq: d.fromSeq, toSeq: d.toSeq, readings: d.readings, devices: d.devices, datasetHash: d.datasetHash });
        break;
      }
      case "tide.training.epoch.completed.v1": {
        const { epoch, epochs, loss, valLoss, durationMs } = event.data;
        run.epochs.push({ epoch, epochs, loss, valLoss, durationMs, at: event.metadata.time });
        break;
      }
      case "tide.training.completed.v1":
        run.outcome = { status: "completed", version: event.data.version, published: event.data.published, at: event.metadata.time };
        break;
      case "tide.training.failed.v1":
        run.outcome = { status: "failed", reason: event.data.reason, ...(event.data.stage ? { stage: event.data.stage } : {}), at: event.metadata.time };
        break;
      default:
        break;
    }
  }
  return run;
}

/** The default split of the trainer (src/training/config.ts); runs do not record theirs. */
const DEFAULT_SPLIT = { validation: 0.15, test: 0.15 };

/**
 * Count the readings of a recorded range per device, and recompute its dataset
 * hash (with the run's window and the default split) to check that the stream
 * still holds exactly what the run trained on.
 */
export async function traceData(cloud: NatsConnection, range: { fromSeq: number; toSeq: number }, recorded?: { readings?: number; datasetHash?: string; window?: number }): Promise<DataLineage> {
  const byDevice = new Map<string, DataLineage["devices"][number]>();
  const readings: TrainingReading[] = [];
  for await (const stored of readStream(cloud, { stream: "READINGS", domain: CLOUD_DOMAIN, subject: READINGS_SUBJECT, fromSeq: range.fromSeq, toSeq: range.toSeq, onInvalid: () => undefined })) {
    if (stored.event.type !== "tide.reading.recorded.v1") continue;
    const { edge, device, temperature, humidity } = stored.event.data;
    readings.push({ seq: stored.seq, edge, device, temperature, humidity });
    const key = `${edge}/${device}`;
    const row = byDevice.get(key);
    if (row) {
      row.readings++;
      row.lastSeq = stored.seq;
    } else byDevice.set(key, { edge, device, readings: 1, firstSeq: stored.seq, lastSeq: stored.seq });
  }
  const devices = [...byDevice.values()].sort((a, b) => a.edge.localeCompare(b.edge) || a.device.localeCompare(b.device));
  const data: DataLineage = { fromSeq: range.fromSeq, toSeq: range.toSeq, readings: readings.length, devices };
  if (recorded?.readings !== undefined) data.recordedReadings = recorded.readings;
  if (recorded?.datasetHash && recorded.window) {
    const recomputed = datasetHash(readings, { window: recorded.window, split: DEFAULT_SPLIT });
    data.datasetHash = { recorded: recorded.datasetHash, recomputed, matches: recomputed === recorded.datasetHash };
  }
  return data;
}

/** `tide.training.requested/started/...` of every run, for listings. */
export async function runIdsOf(cloud: NatsConnection): Promise<string[]> {
  const events = await eventsOf(cloud, { stream: "TRAINING", domain: CLOUD_DOMAIN });
  return ofType(events, "tide.training.requested.v1").map((e) => e.event.data.runId);
}
