import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import type { IngestReply } from "../../edge-runtime/ingest/ingest.ts";
import { subjects } from "../../src/events/subjects.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A reading the edge acknowledged as stored. */
export interface AckedReading {
  device: string;
  /** The event id (derived from edge, device, ts, seq: a retry gets the same one). */
  id: string;
  /** Its edge READINGS sequence. */
  seq: number;
  /** The phase the load was in when the ack arrived (the test names them: `before`, `fault`, `after`). */
  phase: string;
  ackedAt: number;
}

export interface DeviceLoadOptions {
  devices?: number;
  /** Pause between one device's readings once the previous one is acked (default 50 ms). */
  intervalMs?: number;
  /** How long a device waits for its ack before retrying the same reading (default 2000 ms). */
  ackTimeoutMs?: number;
  prefix?: string;
}

/**
 * Devices as the README describes them: each publishes its readings over
 * request/reply, one at a time, and retries the same reading (same `ts`, `seq`)
 * until ingest acks it as stored — on a timeout, no responder, a dropped
 * connection or an `unavailable` answer. Temperatures swing across the
 * cooling thresholds (24/26 °C), so the edge keeps deciding.
 */
export function startDeviceLoad(nc: NatsConnection, edge: string, options: DeviceLoadOptions = {}) {
  const { devices = 4, intervalMs = 50, ackTimeoutMs = 2000, prefix = "fd" } = options;
  const acked: AckedReading[] = [];
  const stats = { sent: 0, retries: 0, rejected: 0 };
  let phase = "before";
  let running = true;
  const base = Date.UTC(2026, 0, 1);
  const swing = [22, 23, 27, 28, 23, 22];

  const runDevice = async (device: string) => {
    for (let seq = 0; running; seq++) {
      const payload = encoder.encode(JSON.stringify({ ts: base + seq * 1000, seq, temperature: swing[seq % swing.length]! + (seq % 7) / 100, humidity: 45 }));
      for (;;) {
        stats.sent++;
        try {
          const reply = JSON.parse(decoder.decode((await nc.request(subjects.ingest(edge, device), payload, { timeout: ackTimeoutMs })).data)) as IngestReply;
          if (reply.ok) {
            acked.push({ device, id: reply.id, seq: reply.seq, phase, ackedAt: Date.now() });
            break;
          }
          if (reply.reason !== "unavailable") {
            stats.rejected++;
            break;
          }
        } catch {
          // No responder, timeout, connection down: the reading is not known to be stored. Retry it.
        }
        stats.retries++;
        if (!running) return;
        await sleep(200);
      }
      await sleep(intervalMs);
    }
  };
  const loops = Array.from({ length: devices }, (_, i) => runDevice(`${prefix}-${i}`));

  return {
    acked,
    stats,
    setPhase(next: string) {
      phase = next;
    },
    /** Acked readings so far in a phase. */
    inPhase: (name: string) => acked.filter((a) => a.phase === name),
    /** Stop after each device's current reading (acked or given up). */
    async stop(): Promise<AckedReading[]> {
      running = false;
      await Promise.all(loops);
      return acked;
    },
  };
}
export type DeviceLoad = ReturnType<typeof startDeviceLoad>;
