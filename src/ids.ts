import { hash, randomUUID } from "node:crypto";
import { z } from "zod";

/**
 * Edge ids are subject tokens and part of the JetStream domain `edge-<id>`:
 * lower-case letters, digits and dashes. `cloud` is the hub's domain.
 */
export const EDGE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const EdgeId = z
  .string()
  .regex(EDGE_ID_PATTERN, "edge id: 1-32 of a-z, 0-9 and '-', starting with a letter or digit")
  .refine((id) => id !== "cloud", "edge id 'cloud' is reserved for the hub");
export type EdgeId = z.infer<typeof EdgeId>;

/** Device ids are one subject token (and one MQTT topic level). */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DeviceId = z
  .string()
  .regex(DEVICE_ID_PATTERN, "device id: 1-64 of A-Z, a-z, 0-9, '_' and '-'");
export type DeviceId = z.infer<typeof DeviceId>;

/** A generic subject token for entity ids (tasks, runs, rollouts, models, nodes). */
export const EntityId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "id: 1-128 of A-Z, a-z, 0-9, '_' and '-'");

export function newEventId(): string {
  return randomUUID();
}

/** A UUID-shaped id derived from its parts, so retries of the same thing get the same id. */
export function deterministicId(...parts: string[]): string {
  // One-shot `hash`: the same digest as createHash(...).update(...).digest(), without the Hash object (ingest calls this per reading).
  const h = hash("sha256", parts.join("\u0000"), "hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export function edgeDomain(edge: EdgeId): string {
  return `edge-${edge}`;
}

export const CLOUD_DOMAIN = "cloud";
