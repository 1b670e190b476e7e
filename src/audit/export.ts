import type { NatsConnection } from "nats";
import { errorMessage } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { replayLineOf, type ReplayLine } from "../replay/index.ts";
import { readBatches } from "../store/read-stream.ts";
import { traceModel, type ModelLineage } from "./lineage/model.ts";
import { activationAt, activationsOf } from "./lineage/rollout.ts";
import type { AuditPlaces } from "./places.ts";
import { isStoreStream } from "./verify/gaps.ts";
import { streamInfos } from "./verify/scan.ts";

export const BUNDLE_FORMAT = "tide-audit-bundle/1";

/** One decision of the window and the links of its lineage. */
export interface DecisionLink {
  id: string;
  edge: string;
  device: string;
  action: string;
  basis: string;
  at: string;
  inferenceId?: string;
  readingSeq: number;
  modelVersion?: string;
  /** The rollout that activated the model on the edge (none: baseline, or activated locally). */
  rolloutId?: string;
  activation?: "rollout" | "local" | "none";
}

/** The bundle `tide audit export` writes: every event stored in the window, and the lineage of what it decided. */
export interface AuditBundle {
  format: typeof BUNDLE_FORMAT;
  createdAt: string;
  since: string;
  until: string;
  streams: Array<{ domain: string; stream: string; count: number; events: ReplayLine[] }>;
  lineage: { decisions: DecisionLink[]; models: ModelLineage[] };
  /** Model versions the window names whose lineage could not be traced, and why. */
  lineageErrors: LineageError[];
  /** Places that could not be read. */
  unreachable: Array<{ domain: string; reason: string }>;
}

/** A model version whose lineage is missing from a bundle. */
export interface LineageError {
  version: string;
  message: string;
}

export interface ExportOptions {
  since: Date;
  until: Date;
  /** Receives the bundle's JSON in pieces (a stream at a time), so a big window is never one string. */
  write: (chunk: string) => Promise<void> | void;
  /** Where lineage failures are logged (default: nowhere; they are in the bundle either way). */
  logger?: Logger;
}

/** What an export wrote. */
export interface ExportCounts {
  events: number;
  decisions: number;
  models: number;
  lineageErrors: number;
}

/**
 * The lineage of each version, in version order. A version that cannot be
 * traced (no event describes it any more, a place failed mid-read) is kept
 * with its reason, and logged: a bundle never hides what it lacks.
 */
export async function modelLineages(
  versions: Iterable<string>,
  trace: (version: string) => Promise<ModelLineage>,
  logger: Logger = silentLogger,
): Promise<{ models: ModelLineage[]; errors: LineageError[] }> {
  const models: ModelLineage[] = [];
  const errors: LineageError[] = [];
  for (const version of [...new Set(versions)].filter((v) => v !== "baseline").sort()) {
    try {
      models.push(await trace(version));
    } catch (error) {
      const message = errorMessage(error);
      errors.push({ version, message });
      logger.warn({ version, err: error }, "audit export: model lineage could not be traced");
    }
  }
  return { models, errors };
}

/** Per place, every stream's events stored in [since, until], then the lineage of the decisions and models among them. */
export async function exportBundle(places: AuditPlaces, options: ExportOptions): Promise<ExportCounts> {
  const { since, until, write, logger = silentLogger } = options;
  const decisions: DecisionLink[] = [];
  const versions = new Set<string>();
  let events = 0;
  const head = { format: BUNDLE_FORMAT, createdAt: new Date().toISOString(), since: since.toISOString(), until: until.toISOString() };
  await write(JSON.stringify(head).slice(0, -1) + ',"streams":[');
  let first = true;
  const sources: Array<{ domain: string; nc: NatsConnection }> = [{ domain: places.cloudDomain, nc: places.cloud }];
  for (const edge of places.edges) if (edge.nc) sources.push({ domain: edge.domain, nc: edge.nc });
  for (const { domain, nc } of sources) {
    for (const info of await streamInfos(nc, domain)) {
      const stream = info.config.name;
      if (isStoreStream(stream)) continue;
      const lines: ReplayLine[] = [];
      for await (const batch of readBatches(nc, { stream, domain, since, until })) {
        for (const m of batch) {
          const line = replayLineOf(m);
          lines.push(line);
          if (!line.valid) continue;
          if (line.type === "tide.decision.made.v1") {
            const d = line.data as { edge: string; device: string; action: string; basis: string; modelVersion?: string; inferenceId?: string; readingSeq: number };
            decisions.push({ id: line.id, edge: d.edge, device: d.device, action: d.action, basis: d.basis, at: line.storedAt, readingSeq: d.readingSeq, ...(d.inferenceId ? { inferenceId: d.inferenceId } : {}), ...(d.modelVersion ? { modelVersion: d.modelVersion } : {}) });
            if (d.modelVersion) versions.add(d.modelVersion);
          } else if (line.type === "tide.model.published.v1" || line.type === "tide.model.activated.v1") {
            versions.add((line.data as { version: string }).version);
          }
        }
      }
      events += lines.length;
      await write((first ? "" : ",") + JSON.stringify({ domain, stream, count: lines.length, events: lines }));
      first = false;
    }
  }
  const activations = await activationsOf(places.cloud);
  for (const d of decisions) {
    if (d.basis !== "model" || !d.modelVersion) {
      d.activation = "none";
      continue;
    }
    const activation = activationAt(activations, d.edge, d.modelVersion, d.at);
    if (activation?.rolloutId && activation.cause !== "local") {
      d.rolloutId = activation.rolloutId;
      d.activation = "rollout";
    } else d.activation = activation ? "local" : "none";
  }
  const { models, errors } = await modelLineages(versions, (version) => traceModel(places, version), logger);
  const unreachable = places.edges.filter((e) => !e.nc).map((e) => ({ domain: e.domain, reason: e.unreachable ?? "not connected" }));
  await write(`],"lineage":${JSON.stringify({ decisions, models })},"lineageErrors":${JSON.stringify(errors)},"unreachable":${JSON.stringify(unreachable)}}\n`);
  return { events, decisions: decisions.length, models: models.length, lineageErrors: errors.length };
}
