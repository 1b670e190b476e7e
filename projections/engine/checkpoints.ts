import type Database from "better-sqlite3";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tide_checkpoints (
  projection TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  stream TEXT NOT NULL,
  domain TEXT NOT NULL,
  last_seq INTEGER NOT NULL,
  last_stored_at TEXT,
  invalid_skipped INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);`;

export interface Checkpoint {
  projection: string;
  version: number;
  stream: string;
  domain: string;
  last_seq: number;
  last_stored_at: string | null;
  invalid_skipped: number;
}

/** The checkpoint table: the applier's, and only the applier's. */
export function checkpointStore(db: Database.Database) {
  db.exec(SCHEMA);
  const get = db.prepare<[string], Checkpoint>("SELECT projection, version, stream, domain, last_seq, last_stored_at, invalid_skipped FROM tide_checkpoints WHERE projection = ?");
  const put = db.prepare(
    `INSERT INTO tide_checkpoints (projection, version, stream, domain, last_seq, last_stored_at, invalid_skipped, updated_at)
     VALUES (@projection, @version, @stream, @domain, @last_seq, @last_stored_at, @invalid_skipped, @updated_at)
     ON CONFLICT(projection) DO UPDATE SET version = excluded.version, stream = excluded.stream, domain = excluded.domain,
       last_seq = excluded.last_seq, last_stored_at = excluded.last_stored_at, invalid_skipped = excluded.invalid_skipped, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare("DELETE FROM tide_checkpoints WHERE projection = ?");
  return {
    get: (projection: string): Checkpoint | undefined => get.get(projection),
    put: (checkpoint: Checkpoint) => put.run({ ...checkpoint, updated_at: new Date().toISOString() }),
    remove: (projection: string) => remove.run(projection),
  };
}
