import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import type { TideEvent } from "../../src/events/catalogue.ts";
import { decodeEvent } from "../../src/events/envelope.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { readMessages, type StoredEvent } from "../../src/store/read-stream.ts";
import { checkpointStore, type Checkpoint } from "./checkpoints.ts";
import type { Projection, ProjectionPlace } from "./projection.ts";

export interface ApplierOptions {
  nc: NatsConnection;
  db: Database.Database;
  projection: Projection;
  place: ProjectionPlace;
  /** Edge id, for an edge projection. */
  edge?: string;
  /** JetStream domain of the stream read. */
  domain: string;
  logger?: Logger;
  /** Events applied per SQLite transaction at most (default 1000). */
  batchSize?: number;
}

/** Where a run stops: the stream's end, a sequence, or a time (as-of). */
export interface RunBounds {
  toSeq?: number;
  until?: Date;
  /** Keep following new events until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

export interface RunResult {
  applied: number;
  invalid: number;
  lastSeq: number;
}

type Handler = (event: StoredEvent) => void;

/**
 * Applies one projection's stream to its SQLite tables. Each batch of events
 * and the stream sequence it reached are committed in one transaction, so a
 * crash at any point resumes exactly where the last commit left off: no event
 * lost, none applied twice. Events that fail their schema are counted and
 * skipped; they never reach a handler.
 */
export function createApplier(options: ApplierOptions) {
  const { nc, db, projection, place, edge, domain, logger = silentLogger, batchSize = 1000 } = options;
  const log = logger.child({ projection: projection.name, domain });
  const source = projection.source(place, edge);
  const checkpoints = checkpointStore(db);

  const reset = () => {
    for (const table of projection.tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
    checkpoints.remove(projection.name);
  };

  const prepare = (): { checkpoint: Checkpoint; handlers: Partial<Record<string, Handler>> } => {
    let checkpoint = checkpoints.get(projection.name);
    if (checkpoint && (checkpoint.version !== projection.version || checkpoint.stream !== source.stream || checkpoint.domain !== domain)) {
      log.info({ from: checkpoint.version, to: projection.version }, "projection definition changed: rebuilding");
      db.transaction(reset)();
      checkpoint = undefined;
    }
    db.exec(projection.schema);
    return {
      checkpoint: checkpoint ?? { projection: projection.name, version: projection.version, stream: source.stream, domain, last_seq: 0, last_stored_at: null, invalid_skipped: 0 },
      handlers: projection.handlers(db) as Partial<Record<string, Handler>>,
    };
  };

  /** Apply from the checkpoint on, until the bounds say stop. */
  async function run(bounds: RunBounds = {}): Promise<RunResult> {
    const { checkpoint, handlers } = prepare();
    const state = { ...checkpoint };
    const result: RunResult = { applied: 0, invalid: 0, lastSeq: state.last_seq };
    if (bounds.toSeq !== undefined && state.last_seq >= bounds.toSeq) return result;

    let batch: StoredEvent[] = [];
    const commit = db.transaction((events: StoredEvent[], next: Checkpoint) => {
      for (const stored of events) handlers[stored.event.type]?.(stored);
      checkpoints.put(next);
    });
    const flush = () => {
      if (state.last_seq === result.lastSeq && batch.length === 0) return;
      commit(batch, state);
      result.applied += batch.length;
      result.lastSeq = state.last_seq;
      batch = [];
    };

    for await (const message of readMessages(nc, {
      stream: source.stream,
      domain,
      fromSeq: state.last_seq + 1,
      batch: batchSize,
      ...(source.subject ? { subject: source.subject } : {}),
      ...(bounds.toSeq !== undefined ? { toSeq: bounds.toSeq } : {}),
      ...(bounds.until ? { until: bounds.until } : {}),
      ...(bounds.follow ? { follow: true } : {}),
      ...(bounds.signal ? { signal: bounds.signal } : {}),
    })) {
      const decoded = decodeEvent(message.headers, message.data);
      if (decoded.success) {
        if (handlers[decoded.event.type]) {
          batch.push({ seq: message.seq, subject: message.subject, storedAt: message.storedAt, pending: message.pending, event: decoded.event as TideEvent });
        }
      } else {
        state.invalid_skipped++;
        result.invalid++;
        log.warn({ seq: message.seq, subject: message.subject, reason: decoded.reason, err: decoded.message }, "stored message is not a valid event: skipped");
      }
      state.last_seq = message.seq;
      state.last_stored_at = message.storedAt;
      if (batch.length >= batchSize || message.pending === 0) flush();
    }
    flush();
    return result;
  }

  return {
    projection,
    run,
    /** Drop the projection's tables and checkpoint, then apply from the first event (up to `bounds`). */
    async rebuild(bounds: Omit<RunBounds, "follow"> = {}): Promise<RunResult> {
      db.transaction(reset)();
      return run(bounds);
    },
    checkpoint: (): Checkpoint | undefined => checkpoints.get(projection.name),
  };
}
export type Applier = ReturnType<typeof createApplier>;
