import type { NatsConnection } from "nats";
import { subjects } from "../../events/index.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { eventsOf } from "../read.ts";

/** A model version as its events on MODELS (`tide.model.<version>`) tell it. */
export interface PublicationLineage {
  version: string;
  runId?: string;
  published: boolean;
  publishedAt?: string;
  parentVersion?: string;
  dataRange?: { fromSeq: number; toSeq: number };
  datasetHash?: string;
  metrics?: Record<string, number>;
  artifact?: { bucket: string; name: string; quantization: string; sha256: string; size: number; signed: boolean };
  evaluation?: { accepted: boolean; forced: boolean; candidateMae: number; persistenceMae: number; productionVersion?: string; productionMae?: number; testSamples: number; reason?: string; at: string };
}

export async function tracePublication(cloud: NatsConnection, version: string): Promise<PublicationLineage | undefined> {
  const events = await eventsOf(cloud, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: subjects.model(version) });
  if (events.length === 0) return undefined;
  const model: PublicationLineage = { version, published: false };
  for (const { event } of events) {
    if (event.type === "tide.model.evaluated.v1") {
      const d = event.data;
      model.runId = d.runId;
      model.evaluation = {
        accepted: d.accepted,
        forced: d.forced,
        candidateMae: d.candidate.mae,
        persistenceMae: d.persistence.mae,
        testSamples: d.testSamples,
        at: event.metadata.time,
        ...(d.production ? { productionVersion: d.production.version, productionMae: d.production.mae } : {}),
        ...(d.reason ? { reason: d.reason } : {}),
      };
      if (d.dataRange) model.dataRange = d.dataRange;
      if (d.datasetHash) model.datasetHash = d.datasetHash;
    } else if (event.type === "tide.model.published.v1") {
      const d = event.data;
      Object.assign(model, {
        published: true,
        publishedAt: event.metadata.time,
        runId: d.runId,
        dataRange: d.dataRange,
        datasetHash: d.datasetHash,
        metrics: d.metrics,
        artifact: { bucket: d.artifact.bucket, name: d.artifact.name, quantization: d.artifact.quantization, sha256: d.artifact.digest.sha256, size: d.artifact.digest.size, signed: d.signature !== undefined },
        ...(d.parentVersion ? { parentVersion: d.parentVersion } : {}),
      });
    }
  }
  return model;
}
