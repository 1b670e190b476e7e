import type Database from "better-sqlite3";
import type { EventType, TideEvent } from "../../src/events/catalogue.ts";
import type { StoredEvent, StreamMessage } from "../../src/store/read-stream.ts";

export type ProjectionPlace = "edge" | "cloud";

/** Where a projection reads from, given its place (and edge id on an edge). */
export interface ProjectionSource {
  stream: string;
  subject?: string;
  /**
   * Why a stored message must not be applied although it decodes (e.g. it
   * claims an edge it did not come from); `undefined` to apply it. Such a
   * message is skipped and counted like an invalid one.
   */
  refuse?: (message: StreamMessage) => string | undefined;
}

/**
 * A projection: its SQL schema and a handler per event type it handles.
 * Handlers only run SQL; the applier owns transactions and checkpoints.
 */
export interface Projection {
  readonly name: string;
  /** Bump when the schema or handlers change: the projection is rebuilt. */
  readonly version: number;
  readonly description: string;
  /** Which stream (and subject filter) it follows on a place. */
  source(place: ProjectionPlace, edge?: string): ProjectionSource;
  /** Where it runs (default: edges and the cloud); a cloud-only projection reads streams edges do not have. */
  readonly places?: readonly ProjectionPlace[];
  /** DDL creating its tables; must be idempotent (`IF NOT EXISTS`). */
  readonly schema: string;
  /** Its tables, dropped on rebuild. */
  readonly tables: readonly string[];
  /**
   * Prepare statements once per database; return one handler per event type
   * handled, and optionally `flush`. A projection that folds a batch in memory
   * (many events to one row) has its handlers only collect and writes in
   * `flush`, which the applier calls at the end of every batch, inside the
   * batch's transaction, before the checkpoint. The tables must end exactly as
   * if every event had been written on its own.
   */
  handlers(db: Database.Database): ProjectionHandlers;
}

export type ProjectionHandlers = Partial<{ [T in EventType]: (event: StoredEvent<TideEvent<T>>) => void }> & {
  /** Write what the handlers folded since the last flush. */
  flush?: () => void;
};

/** Whether `projection` runs on `place`. */
export function runsOn(projection: Projection, place: ProjectionPlace): boolean {
  return projection.places === undefined || projection.places.includes(place);
}
