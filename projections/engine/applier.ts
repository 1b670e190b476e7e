import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { ConfigError } from "../../src/errors.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { decodeStored, readBatches, storedAtOf, type StoredEvent, type StreamMessage } from "../../src/store/read-stream.ts";
import { checkpointStore, type Checkpoint } from "./checkpoints.ts";
import { runsOn, type Projection, type ProjectionHandlers, type ProjectionPlace } from "./projection.ts";

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
  /**
   * While following a live stream, how long events that arrived one by one may
   * wait to be committed together (default 50 ms): one transaction per event
   * costs more than the event's own writes.
   */
  lingerMs?: number;
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

const DEFAULT_LINGER_MS = 50;

/** A StoredEvent of a message in hand: its subject is decoded only if a handler reads it (few do). */
class AppliedEvent implements StoredEvent {
  readonly seq: number;
  readonly pending: number;
  constructor(
    private readonly message: StreamMessage,
    readonly storedAt: string,
    readonly event: StoredEvent["event"],
  ) {
    this.seq = message.seq;
    this.pending = message.pending;
  }

  get subject(): string {
    return this.message.subject;
  }
}

/** A projection's handlers by event type, and its flush (when it folds batches). */
function splitHandlers(all: ProjectionHandlers): { handlers: Partial<Record<string, Handler>>; flushFolded: (() => void) | undefined } {
  const { flush, ...byType } = all;
  return { handlers: byType as Partial<Record<string, Handler>>, flushFolded: flush };
}

/**
 * Applies one projection's stream to its SQLite tables. Each batch of events
 * and the stream sequence it reached are committed in one transaction, so a
 * crash at any point resumes exactly where the last commit left off: no event
 * lost, none applied twice. Events that fail their schema are counted and
 * skipped; they never reach a handler.
 */
export function createApplier(options: ApplierOptions) {
  const { nc, db, projection, place, edge, domain, logger = silentLogger, batchSize = 1000, lingerMs = DEFAULT_LINGER_MS } = options;
  if (!runsOn(projection, place)) throw new ConfigError(`projection ${projection.name} runs on ${projection.places!.join(", ")} only, not on ${place === "edge" ? `edge ${edge ?? ""}`.trim() : place}`);
  const log = logger.child({ projection: projection.name, domain });
  const source = projection.source(place, edge);
  const checkpoints = checkpointStore(db);

  const reset = () => {
    for (const table of projection.tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
    checkpoints.remove(projection.name);
  };

  const prepare = (): { checkpoint: Checkpoint; handlers: Partial<Record<string, Handler>>; flushFolded: (() => void) | undefined } => {
    let checkpoint = checkpoints.get(projection.name);
    if (checkpoint && (checkpoint.version !== projection.version || checkpoint.stream !== source.stream || checkpoint.domain !== domain)) {
      log.info({ from: checkpoint.version, to: projection.version }, "projection definition changed: rebuilding");
      db.transaction(reset)();
      checkpoint = undefined;
    }
    db.exec(projection.schema);
    return {
      checkpoint: checkpoint ?? { projection: projection.name, version: projection.version, stream: source.stream, domain, last_seq: 0, last_stored_at: null, invalid_skipped: 0 },
      ...splitHandlers(projection.handlers(db)),
    };
  };

  /** Apply from the checkpoint on, until the bounds say stop. */
  async function run(bounds: RunBounds = {}): Promise<RunResult> {
    const { checkpoint, handlers, flushFolded } = prepare();
    const state = { ...checkpoint };
    const result: RunResult = { applied: 0, invalid: 0, lastSeq: state.last_seq };
    if (bounds.toSeq !== undefined && state.last_seq >= bounds.toSeq) return result;

    let batch: StoredEvent[] = [];
    const commit = db.transaction((events: StoredEvent[], next: Checkpoint) => {
      for (const stored of events) handlers[stored.event.type]?.(stored);
      flushFolded?.();
      checkpoints.put(next);
    });
    let lingering: ReturnType<typeof setTimeout> | undefined;
    /** Events taken (or skipped) since the last commit. */
    const uncommitted = () => batch.length > 0 || state.last_seq !== result.lastSeq;
    const flush = () => {
      clearTimeout(lingering);
      lingering = undefined;
      if (!uncommitted()) return;
      commit(batch, state);
      result.applied += batch.length;
      result.lastSeq = state.last_seq;
      batch = [];
    };

    // A commit that fails in the linger timer ends the read, and the run throws it, as a commit in the loop would.
    let lingerFailure: { error: unknown } | undefined;
    const stopReading = new AbortController();
    const lingerFlush = () => {
      try {
        flush();
      } catch (error) {
        lingerFailure = { error };
        stopReading.abort();
      }
    };
    const reads = readBatches(nc, {
      stream: source.stream,
      domain,
      fromSeq: state.last_seq + 1,
      batch: batchSize,
      ...(source.subject ? { subject: source.subject } : {}),
      ...(bounds.toSeq !== undefined ? { toSeq: bounds.toSeq } : {}),
      ...(bounds.until ? { until: bounds.until } : {}),
      ...(bounds.follow ? { follow: true } : {}),
      signal: bounds.signal ? AbortSignal.any([bounds.signal, stopReading.signal]) : stopReading.signal,
      onReplace: (why) => log.info({ why, lastSeq: state.last_seq }, "stream read replaced its consumer; reading on after the last message taken"),
    });
    // Messages arrive in batches taken synchronously: no promise per event on this path.
    try {
      await applyAll();
    } catch (error) {
      // What was not committed is read again by the next run, from the checkpoint: a late linger commit must not land.
      clearTimeout(lingering);
      throw error;
    }
    if (lingerFailure) {
      clearTimeout(lingering);
      throw lingerFailure.error;
    }
    flush();
    return result;

    async function applyAll(): Promise<void> {
      for await (const messages of reads) {
        for (const message of messages) {
          const { seq, storedAtMs, pending } = message;
          const decoded = decodeStored(message);
          const refused = decoded.success ? source.refuse?.(message) : undefined;
          if (decoded.success && refused === undefined) {
            if (handlers[decoded.event.type]) {
              batch.push(new AppliedEvent(message, storedAtOf(storedAtMs), decoded.event));
            }
          } else {
            state.invalid_skipped++;
            result.invalid++;
            if (refused !== undefined) log.warn({ seq, subject: message.subject, err: refused }, "stored event refused: skipped");
            else if (!decoded.success) log.warn({ seq, subject: message.subject, reason: decoded.reason, err: decoded.message }, "stored message is not a valid event: skipped");
          }
          state.last_seq = seq;
          state.last_stored_at = storedAtOf(storedAtMs);
          if (batch.length >= batchSize) flush();
          // Caught up: a bounded run commits now.
          else if (pending === 0 && !bounds.follow) flush();
        }
        // A live run commits what it took within lingerMs, so what arrives in the next moments joins the commit.
        // Not only when the server's pending count says 0: that count is the consumer's running tally at
        // delivery, and a last message whose count is off by one must not hold the batch back until the next comes.
        if (bounds.follow && uncommitted()) {
          if (lingerMs <= 0) flush();
          else lingering ??= setTimeout(lingerFlush, lingerMs);
        }
      }
    }
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
