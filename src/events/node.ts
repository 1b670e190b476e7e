import { z } from "zod";
import { EntityId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt } from "./define.ts";
import { TfBackend } from "./inference.ts";

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
  }),
);

export const nodeLost = defineEvent(
  "tide.node.lost.v1",
  z.object({ node: EntityId, lastSeen: isoTime(), missedHeartbeats: nonNegativeInt() }),
);
