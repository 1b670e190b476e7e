import type { Msg, NatsConnection, Subscription } from "nats";
import { deadLetter, type Rejection } from "../../src/dead-letter/dead-letter.ts";
import { ConfigError, errorMessage } from "../../src/errors.ts";
import { createEvent, readingRecorded, subjects, type ReadingData, type ReadingRoute } from "../../src/events/index.ts";
import { DeviceId, edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { createEventWriter } from "../../src/store/event-writer.ts";
import { parseReading } from "./parse-reading.ts";

/** Decides, per reading, whether it is forwarded raw to the cloud (`up`) or stays on the edge (`local`). */
export type RouteReading = (reading: ReadingData) => ReadingRoute;

export interface IngestOptions {
  nc: NatsConnection;
  edge: EdgeId;
  logger?: Logger;
  /** The distribution policy's routing; default: everything goes up. */
  route?: RouteReading;
  /** Appends awaiting acks at once (default 512). */
  maxInFlight?: number;
  /**
   * Readings in hand at once — being validated, waiting for an append slot or
   * for their ack (default DEFAULT_INGEST_MAX_PENDING). Beyond it a reading is
   * answered `unavailable` at once (not stored, so the device retries): a core
   * NATS subscription has no backpressure, and without a bound an overload
   * would hold every published reading in memory.
   */
  maxPending?: number;
}

/** Ingest's default bound on readings in hand: a few append windows deep, a few MiB of memory at most. */
export const DEFAULT_INGEST_MAX_PENDING = 2048;

/** What a device gets back on request/reply: only after the reading (or its rejection) is stored. */
export type IngestReply =
  | { ok: true; id: string; seq: number; duplicate: boolean }
  | { ok: false; reason: Rejection["reason"] | "unavailable"; message: string; issues: string[] };

export interface IngestStats {
  accepted: number;
  duplicates: number;
  rejected: number;
  failed: number;
  /** Answered `unavailable` at once because `maxPending` readings were already in hand (not stored). */
  shed: number;
}

const encoder = new TextEncoder();

/**
 * The edge's ingest: devices publish on `tide.ingest.<edge>.<device>` (NATS,
 * or MQTT `tide/ingest/<edge>/<device>`); each message is validated and
 * appended to READINGS, or dead-lettered with its reason. A device that used
 * request/reply is answered only once the outcome is stored.
 */
export function startIngest(options: IngestOptions) {
  const { nc, edge, logger = silentLogger, route = () => "up", maxInFlight, maxPending = DEFAULT_INGEST_MAX_PENDING } = options;
  if (!Number.isInteger(maxPending) || maxPending < 1) throw new ConfigError(`ingest maxPending must be a positive integer, got ${maxPending}`);
  const log = logger.child({ component: "ingest", edge });
  const js = nc.jetstream({ domain: edgeDomain(edge) });
  const writer = createEventWriter(js, maxInFlight === undefined ? {} : { maxInFlight });
  const source = `tide://${edgeDomain(edge)}/ingest`;
  const stats: IngestStats = { accepted: 0, duplicates: 0, rejected: 0, failed: 0, shed: 0 };
  const pending = new Set<Promise<void>>();

  /** Request/reply devices get the answer on their inbox; others (MQTT) on their ack subject. */
  const respond = (msg: Msg, reply: IngestReply) => {
    const bytes = encoder.encode(JSON.stringify(reply));
    if (msg.reply) {
      msg.respond(bytes);
      return;
    }
    const device = msg.subject.split(".")[3];
    if (device && DeviceId.safeParse(device).success && msg.subject.split(".").length === 4) nc.publish(subjects.ack(edge, device), bytes);
  };

  async function handle(msg: Msg): Promise<void> {
    try {
      const parsed = parseReading(edge, msg.subject, msg.headers, msg.data);
      if (parsed.success) {
        const event = createEvent({ type: readingRecorded.type, data: parsed.reading }, { source, id: parsed.id });
        const ack = await writer.append(subjects.reading(edge, parsed.reading.device, route(parsed.reading)), event);
        if (ack.duplicate) stats.duplicates++;
        else stats.accepted++;
        respond(msg, { ok: true, id: parsed.id, seq: ack.seq, duplicate: ack.duplicate });
        return;
      }
      const { reason, message, issues = [] } = parsed;
      await deadLetter(js, edge, source, { subject: msg.subject, headers: msg.headers, data: msg.data }, { reason, message, issues });
      stats.rejected++;
      log.debug({ subject: msg.subject, reason, message }, "reading rejected");
      respond(msg, { ok: false, reason, message, issues });
    } catch (error) {
      // JetStream unavailable or timed out: say so, so the device retries (same id, stored once).
      stats.failed++;
      log.warn({ subject: msg.subject, err: errorMessage(error) }, "reading not stored");
      respond(msg, { ok: false, reason: "unavailable", message: `not stored: ${errorMessage(error)}`, issues: [] });
    }
  }

  // Overload is logged once when it starts and then at most once a second, with how many were turned away.
  let shedSinceLog = 0;
  let lastShedLog = 0;
  const overloaded: IngestReply = {
    ok: false,
    reason: "unavailable",
    message: `not stored: ingest is overloaded (${maxPending} readings in hand); retry later`,
    issues: [],
  };
  const shed = (msg: Msg) => {
    stats.shed++;
    shedSinceLog++;
    try {
      respond(msg, overloaded);
    } catch (error) {
      log.debug({ err: errorMessage(error) }, "could not answer a shed reading");
    }
    const now = Date.now();
    if (now - lastShedLog >= 1000) {
      log.warn({ shed: shedSinceLog, totalShed: stats.shed, maxPending }, "ingest overloaded: readings answered unavailable, not stored");
      lastShedLog = now;
      shedSinceLog = 0;
    }
  };

  const subscription: Subscription = nc.subscribe(subjects.ingest(edge, ">"), {
    queue: `tide-ingest-${edge}`,
    callback: (error, msg) => {
      if (error) {
        log.error({ err: errorMessage(error) }, "ingest subscription error");
        return;
      }
      if (pending.size >= maxPending) {
        shed(msg);
        return;
      }
      const work = handle(msg);
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
  });
  log.info({ subject: subjects.ingest(edge, ">") }, "ingest listening");

  return {
    stats,
    /** Readings in hand right now (at most `maxPending`). */
    pending: () => pending.size,
    /** Stop taking messages and wait for the ones in hand to be stored. */
    async stop(): Promise<void> {
      await subscription.drain().catch(() => undefined);
      await Promise.all(pending);
    },
  };
}
export type Ingest = ReturnType<typeof startIngest>;
