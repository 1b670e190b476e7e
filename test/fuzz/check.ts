import type { FaultSystem } from "../faults/system.ts";
import { deadLettersAdded, snapshotForFuzz, type FuzzCounts, type FuzzSnapshot } from "./drive.ts";

/** Why ingest may reject a reading into the DLQ (README, "Device payloads"). */
export const DEAD_LETTER_REASONS = ["not_json", "schema", "unknown_type", "oversize", "bad_headers", "device_mismatch", "bad_subject"];

export interface FuzzVerdict {
  messages: number;
  deadLettered: number;
  problems: string[];
}

/**
 * The fuzz invariants: every message got a clear rejection (a read-only
 * route its content, a junk MQTT topic a PUBACK or a closed connection and
 * no ack); every rejected reading is in the DLQ; no reading stored, no
 * projection changed; no process restarted or died.
 */
export async function checkAfterFuzz(system: FaultSystem, before: FuzzSnapshot, counts: FuzzCounts): Promise<FuzzVerdict> {
  const problems: string[] = [...counts.unclear.map((u) => `unclear answer: ${u}`)];
  const ingested = counts.ingestNats + counts.ingestMqtt;
  const dlqReasons = Object.entries(counts.reasons).filter(([r]) => DEAD_LETTER_REASONS.includes(r));
  // `unavailable` (ingest overloaded or JetStream slow: not stored, the device retries) is a clear answer too, with no dead letter.
  const others = Object.entries(counts.reasons).filter(([r]) => !DEAD_LETTER_REASONS.includes(r) && r !== "offload_rejected" && r !== "unavailable");
  if (others.length) problems.push(`ingest answers that are neither dead-letter reasons nor unavailable: ${JSON.stringify(Object.fromEntries(others))}`);
  const rejected = dlqReasons.reduce((a, [, n]) => a + n, 0);
  const unavailable = counts.reasons.unavailable ?? 0;
  if (rejected + unavailable !== ingested) problems.push(`${ingested} malformed readings sent, ${rejected} rejected into the DLQ, ${unavailable} unavailable`);
  let deadLettered = 0;
  try {
    deadLettered = await deadLettersAdded(system, before, rejected);
    if (deadLettered !== rejected) problems.push(`${deadLettered} dead letters for ${rejected} rejected readings`);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const after = await snapshotForFuzz(system);
  if (after.edgeReadings !== before.edgeReadings) problems.push(`edge READINGS moved from seq ${before.edgeReadings} to ${after.edgeReadings}`);
  if (after.cloudReadings !== before.cloudReadings) problems.push(`cloud READINGS went from ${before.cloudReadings} to ${after.cloudReadings} readings`);
  for (const [place, a, b] of [["edge", before.edgeProjections, after.edgeProjections], ["cloud", before.cloudProjections, after.cloudProjections]] as const) {
    for (const table of Object.keys(a)) if (JSON.stringify(a[table]) !== JSON.stringify(b[table])) problems.push(`${place} projection table ${table} changed`);
  }
  for (const [name, pid] of Object.entries(before.pids)) if (after.pids[name] !== pid) problems.push(`${name}: pid ${pid} -> ${after.pids[name] ?? "not running"}`);
  return { messages: ingested + counts.mqttTopics + counts.offload + counts.http + counts.httpRead, deadLettered, problems };
}
