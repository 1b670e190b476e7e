import type { StreamConfig } from "nats";
import type { EdgeId } from "../src/ids.ts";

export type StreamPlace = "edge" | "cloud";

/** What a stream definition is given: the edge it is for (edge streams) and the fleet's edges. */
export interface StreamContext {
  /** Set for edge streams: the edge this copy of the stream lives on. */
  edge?: EdgeId;
  /** Every edge of the topology (the cloud READINGS sources each one's UPLINK). */
  edges: readonly EdgeId[];
  /** Replicas of the cloud streams and buckets (3 on a clustered hub; default 1). Edge streams are R1: an edge is one server. */
  replicas?: number;
}

/** The parts of a JetStream stream config a definition may set. */
export type StreamSpec = Pick<
  StreamConfig,
  "name" | "description" | "subjects" | "sources" | "storage" | "retention" | "discard" | "max_age" | "max_bytes" | "max_msgs" | "max_msg_size" | "duplicate_window" | "num_replicas" | "allow_direct"
>;

/**
 * One stream of the catalogue: its name, where it lives, and the config it
 * must have, derived from the topology. Definitions are data: `tide streams apply`
 * turns them into JetStream state idempotently.
 */
export interface StreamDefinition {
  readonly name: string;
  readonly place: StreamPlace;
  /** One line for humans: what the stream holds. */
  readonly purpose: string;
  spec(ctx: StreamContext): Partial<StreamSpec> & { subjects?: string[] };
}

/** Object Store buckets, applied with the streams of their place. */
export interface BucketDefinition {
  readonly name: string;
  readonly place: StreamPlace;
  readonly purpose: string;
  readonly maxBytes: number;
}

export const nanos = {
  seconds: (s: number) => s * 1_000_000_000,
  minutes: (m: number) => m * 60 * 1_000_000_000,
  days: (d: number) => d * 24 * 60 * 60 * 1_000_000_000,
} as const;

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function requireEdge(ctx: StreamContext, stream: string): EdgeId {
  if (!ctx.edge) throw new Error(`${stream} is an edge stream: an edge id is required`);
  return ctx.edge;
}
