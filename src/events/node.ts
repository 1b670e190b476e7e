import { z } from "zod";
import { DeviceId, EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt } from "./define.ts";
import { Action, TfBackend } from "./inference.ts";

export const NodeKind = z.enum(["edge", "cloud"]);

const Resources = z.object({ cpus: z.number().positive(), memoryMb: z.number().positive() });

export const nodeRegistered = defineEvent(
  "tide.node.registered.v1",
  z.object({
    node: EntityId,
    kind: NodeKind,
    edge: z.string().optional(),
    /** What the node offers to tasks (an edge offers a share of a small machine). */
    resources: Resources,
    backend: TfBackend.optional(),
    /** Task kinds it runs. */
    kinds: z.array(z.string()).default([]),
    /** Its heartbeat interval: the cloud declares it lost after a few missed beats. */
    heartbeatMs: z.number().int().positive().optional(),
  }),
);

/** A decision an edge made, as its heartbeats report it (the decision events stay on the edge). */
export const RecentDecision = z.object({
  device: DeviceId,
  action: Action,
  basis: z.enum(["baseline", "model"]),
  modelVersion: z.string().optional(),
  reason: z.string(),
  at: isoTime(),
});
export type RecentDecision = z.infer<typeof RecentDecision>;

/**
 * What an edge did since it started (running totals) and its newest
 * decisions: the cloud's only view of edge-local work (readings routed
 * `local`, inferences, decisions) for the dashboard and metrics.
 */
export const EdgeActivity = z.object({
  /** Readings stored by ingest, and payloads it rejected (dead-lettered). */
  readings: nonNegativeInt(),
  rejected: nonNegativeInt(),
  predictions: nonNegativeInt(),
  anomalies: nonNegativeInt(),
  decisions: nonNegativeInt(),
  /** Reading stored → its inference and decision stored, ms. */
  decisionP50Ms: z.number().nonnegative().optional(),
  decisionP99Ms: z.number().nonnegative().optional(),
  /** The uplink as the edge measures it: UPLINK messages the cloud does not hold yet. */
  uplink: z.object({ connected: z.boolean(), backlog: nonNegativeInt(), rttMs: z.number().nonnegative().optional() }).optional(),
  recentDecisions: z.array(RecentDecision).max(32),
});
export type EdgeActivity = z.infer<typeof EdgeActivity>;

export const nodeHeartbeat = defineEvent(
  "tide.node.heartbeat.v1",
  z.object({
    node: EntityId,
    cpuLoad: z.number().nonnegative(),
    memoryMb: z.number().nonnegative(),
    freeMemoryMb: z.number().nonnegative(),
    queueDepth: nonNegativeInt(),
    modelVersion: z.string().optional(),
    backend: TfBackend.optional(),
    rttMs: z.number().nonnegative().optional(),
    /** Edges only: what the edge did (optional, so older heartbeats stay valid). */
    activity: EdgeActivity.optional(),
  }),
);

export const nodeLost = defineEvent(
  "tide.node.lost.v1",
  z.object({ node: EntityId, lastSeen: isoTime(), missedHeartbeats: nonNegativeInt() }),
);
