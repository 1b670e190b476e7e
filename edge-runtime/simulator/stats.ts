import type { FaultKind } from "./faults.ts";

/** What a simulator run did so far. Retries of one reading count once in `sent`. */
export interface SimulatorStats {
  /** Ticks so far: each device measured this many times. */
  ticks: number;
  /** Measurements of all devices (dropouts included). */
  measured: number;
  /** Distinct messages sent (readings and bad payloads). */
  sent: number;
  /** Acknowledged as stored by the ingest. */
  stored: number;
  /** Acknowledged as already stored (a retry whose first try had been stored). */
  duplicates: number;
  /** Refused by the ingest (dead-lettered there), by reason. */
  rejected: number;
  rejectedBy: Record<string, number>;
  /** Extra attempts after an `unavailable` reply, a timeout or no responder. */
  retried: number;
  /** Given up on after the last retry, or when stopped mid-retry. */
  failed: number;
  /** Left in a device's buffer when the run was stopped while the edge was not answering. */
  unsent: number;
  /** Lost because a device's buffer was full (the oldest go first). */
  dropped: number;
  /** Readings a faulty sensor did not send. */
  dropouts: number;
  /** Measurements affected by each fault kind. */
  faults: Record<FaultKind, number>;
  /** Measurements inside an injected anomaly. */
  anomalies: number;
  /** Actuator commands received and applied. */
  commands: number;
  /** Messages on a command subject of ours that were not a command. */
  commandsRejected: number;
}

export function emptyStats(): SimulatorStats {
  return {
    ticks: 0,
    measured: 0,
    sent: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    rejectedBy: {},
    retried: 0,
    failed: 0,
    unsent: 0,
    dropped: 0,
    dropouts: 0,
    faults: { stuck: 0, spike: 0, dropout: 0, bad_payload: 0 },
    anomalies: 0,
    commands: 0,
    commandsRejected: 0,
  };
}

export function copyStats(stats: SimulatorStats): SimulatorStats {
  return { ...stats, rejectedBy: { ...stats.rejectedBy }, faults: { ...stats.faults } };
}

/** One line: sent, stored, rejected (by reason), retried, failed, commands. */
export function formatStats(stats: SimulatorStats): string {
  const reasons = Object.entries(stats.rejectedBy)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ");
  const parts = [
    `sent ${stats.sent}`,
    `stored ${stats.stored}${stats.duplicates ? ` (+${stats.duplicates} duplicate)` : ""}`,
    `rejected ${stats.rejected}${reasons ? ` (${reasons})` : ""}`,
    `retried ${stats.retried}`,
    `failed ${stats.failed}`,
    `dropouts ${stats.dropouts}`,
    `commands received ${stats.commands}`,
  ];
  if (stats.dropped) parts.push(`dropped ${stats.dropped} (buffer full)`);
  if (stats.unsent) parts.push(`unsent ${stats.unsent}`);
  return parts.join(", ");
}
