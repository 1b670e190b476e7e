import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import type { BackendSelection } from "../src/model/backend.ts";
import { readStream } from "../src/store/read-stream.ts";
import { parseTrainingConfig } from "../src/training/config.ts";
import { requestTraining } from "../src/training/run-events.ts";
import { createTrainer } from "../src/training/trainer.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { fillCloudReadings } from "./training-data.ts";

/** One request-to-publication measurement. */
export interface PipelineTiming {
  seconds: number;
  readings: number;
  epochs: number;
  /** Where the time went, from the run's own event times (ms). */
  phases: { claimMs: number; trainMs: number; publishMs: number };
  version: string;
  artifactBytes: number;
}

/** Wait for the `model.published` of a run on MODELS; returns when it was seen and its data. */
async function publishedOf(nc: NatsConnection, runId: string, signal: AbortSignal) {
  for await (const { event } of readStream(nc, { stream: "MODELS", domain: CLOUD_DOMAIN, follow: true, signal })) {
    if (event.type === "tide.model.published.v1" && event.data.runId === runId) return { at: performance.now(), data: event.data, time: Date.parse(event.metadata.time) };
  }
  throw new Error(`run ${runId}: no model.published before the wait ended`);
}

/**
 * `train.requested_to_published.seconds`: a real hub + edge, a fixed dataset of
 * simulated readings in the cloud READINGS, a trainer (the one `tide cloud`
 * runs) waiting; the clock runs from appending `training.requested` (forced,
 * so the gate always publishes) to seeing `model.published` on MODELS.
 */
export async function measureRequestToPublished(ctx: BenchContext, selection: BackendSelection, size: { devices: number; ticks: number; epochs: number }): Promise<PipelineTiming> {
  return withTopology(ctx, { cloud: true }, async ({ connect, edge }) => {
    const cloudNc = await connect(CLOUD_DOMAIN);
    const readings = await fillCloudReadings(await connect(edge), cloudNc, edge, size.devices, size.ticks);
    ctx.progress(`training: ${readings.toLocaleString("en-US")} readings in the cloud READINGS; requesting a run of ${size.epochs} epochs`);
    const config = parseTrainingConfig({ epochs: size.epochs, schedule: { everyMinutes: 0 }, drift: { enabled: false } });
    const trainer = createTrainer({ nc: await connect(CLOUD_DOMAIN), tf: selection.tf, backend: selection.backend, config, logger: silentLogger });
    await trainer.start();
    const wait = new AbortController();
    const timeout = setTimeout(() => wait.abort(), 600_000);
    try {
      const t0 = performance.now();
      const { runId } = await requestTraining(cloudNc.jetstream(), { reason: "manual", detail: "benchmark", force: true }, "tide://bench/training");
      const published = await publishedOf(cloudNc, runId, wait.signal);
      const times: Record<string, number[]> = {};
      for await (const { event } of readStream(cloudNc, { stream: "TRAINING", domain: CLOUD_DOMAIN, subject: `tide.training.${runId}` })) {
        (times[event.type] ??= []).push(Date.parse(event.metadata.time));
      }
      const requested = times["tide.training.requested.v1"]![0]!;
      const started = times["tide.training.started.v1"]![0]!;
      const lastEpoch = times["tide.training.epoch.completed.v1"]!.at(-1)!;
      return {
        seconds: (published.at - t0) / 1000,
        readings,
        epochs: size.epochs,
        phases: { claimMs: started - requested, trainMs: lastEpoch - started, publishMs: published.time - lastEpoch },
        version: published.data.version,
        artifactBytes: published.data.artifact.digest.size,
      };
    } finally {
      clearTimeout(timeout);
      wait.abort();
      await trainer.stop();
    }
  });
}
