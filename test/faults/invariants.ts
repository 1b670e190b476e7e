import Database from "better-sqlite3";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { expect } from "vitest";
import { checkpointStore, createApplier, openProjectionDb, projectionCatalogue, runsOn, type ProjectionPlace } from "../../projections/index.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../../src/ids.ts";
import { readBatches, readStream, type StoredEvent } from "../../src/store/read-stream.ts";
import { eventually, tempDir } from "../harness.ts";
import type { AckedReading } from "./devices.ts";

async function eventsOf(nc: NatsConnection, domain: string, stream: string, subject?: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of readStream(nc, { stream, domain, ...(subject ? { subject } : {}) })) out.push(e);
  return out;
}

/** Event id -> how many times the cloud READINGS holds it (readings of `edge`). */
async function cloudReadingIds(hub: NatsConnection, edge: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await eventsOf(hub, CLOUD_DOMAIN, "READINGS", `tide.reading.${edge}.>`)) counts.set(e.event.metadata.id, (counts.get(e.event.metadata.id) ?? 0) + 1);
  return counts;
}

/** Invariant 1: every reading acked to a device is in the cloud READINGS, exactly once (and nothing there is twice). */
export async function expectAckedInCloudOnce(hub: NatsConnection, edge: string, acked: readonly AckedReading[], timeoutMs = 90_000): Promise<{ acked: number; inCloud: number }> {
  const ids = new Set(acked.map((a) => a.id));
  const counts = await eventually(
    () => cloudReadingIds(hub, edge),
    (c) => [...ids].every((id) => c.has(id)),
    timeoutMs,
    `all ${ids.size} acked readings of edge ${edge} in the cloud`,
  );
  const missing = [...ids].filter((id) => !counts.has(id));
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  expect(missing, "acked readings missing from the cloud").toEqual([]);
  expect(twice, "readings stored twice in the cloud").toEqual([]);
  return { acked: ids.size, inCloud: counts.size };
}

type Row = Record<string, unknown>;

/** The rows of every table of a projection, sorted, and its checkpoint sequence: one consistent read. */
function snapshot(db: Database.Database, tables: readonly string[], projection: string): { lastSeq: number; rows: Record<string, string[]> } {
  return db.transaction(() => {
    const lastSeq = checkpointStore(db).get(projection)?.last_seq ?? 0;
    const rows: Record<string, string[]> = {};
    for (const table of tables) {
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      rows[table] = exists ? (db.prepare(`SELECT * FROM "${table}"`).all() as Row[]).map((r) => JSON.stringify(r)).sort() : [];
    }
    return { lastSeq, rows };
  })();
}

/** Stream sequence of the last message a projection's source holds now (0: none). */
async function lastSourceSeq(nc: NatsConnection, domain: string, source: { stream: string; subject?: string }): Promise<number> {
  let last = 0;
  for await (const batch of readBatches(nc, { stream: source.stream, domain, ...(source.subject ? { subject: source.subject } : {}) })) last = batch.at(-1)?.seq ?? last;
  return last;
}

/**
 * Invariant 2: each live projection of a place reaches the end of its source
 * (as it is when the check begins: a projection that stalled fails here) and
 * then equals a rebuild from its stream up to the sequence the live one has
 * applied (read from the live SQLite file while its process runs).
 */
export async function expectProjectionsEqualRebuild(nc: NatsConnection, dbPath: string, place: ProjectionPlace, edge?: string): Promise<string[]> {
  const domain = place === "edge" ? edgeDomain(edge!) : CLOUD_DOMAIN;
  const live = new Database(dbPath, { readonly: true, fileMustExist: true });
  const scratch = tempDir("tide-rebuild-");
  const checked: string[] = [];
  try {
    for (const projection of projectionCatalogue.filter((p) => runsOn(p, place))) {
      const end = await lastSourceSeq(nc, domain, projection.source(place, edge));
      await eventually(() => liveCheckpoint(dbPath, projection.name), (seq) => seq >= end, 60_000, `${place} projection ${projection.name} at the end of its source (seq ${end})`);
      const before = snapshot(live, projection.tables, projection.name);
      const db = openProjectionDb(join(scratch, `${projection.name}.db`));
      try {
        const applier = createApplier({ nc, db, projection, place, domain, ...(edge ? { edge } : {}) });
        await applier.rebuild({ toSeq: before.lastSeq });
        const rebuilt = snapshot(db, projection.tables, projection.name);
        expect(rebuilt.rows, `${place} projection ${projection.name} equals its rebuild to seq ${before.lastSeq}`).toEqual(before.rows);
        checked.push(`${projection.name}@${before.lastSeq}`);
      } finally {
        db.close();
      }
    }
  } finally {
    live.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return checked;
}

/** The live projection's checkpoint (to wait for it to catch up). */
export function liveCheckpoint(dbPath: string, projection: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return checkpointStore(db).get(projection)?.last_seq ?? 0;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

/**
 * Invariant 3: the edge inferred every reading once, and decided on them.
 * `by` (optional): each inference of `readings` must have been stored before
 * this time — i.e. while the fault was still on.
 */
export async function expectInferredOnce(edgeNc: NatsConnection, edge: string, readings: readonly AckedReading[], by?: number): Promise<{ inferred: number; decisions: number }> {
  const seqs = new Set(readings.map((r) => r.seq));
  const domain = edgeDomain(edge);
  const all = await eventually(
    () => eventsOf(edgeNc, domain, "INFERENCES"),
    (events) => {
      const covered = new Set(events.flatMap((e) => (e.event.type === "tide.inference.completed.v1" ? [e.event.data.inputSeqs.at(-1)!] : [])));
      return [...seqs].every((s) => covered.has(s));
    },
    60_000,
    `inferences of ${seqs.size} readings on edge ${edge}`,
  );
  const inferences = all.filter((e) => e.event.type === "tide.inference.completed.v1").map((e) => ({ e, seq: e.event.type === "tide.inference.completed.v1" ? e.event.data.inputSeqs.at(-1)! : 0 }));
  const perSeq = new Map<number, number>();
  for (const { seq } of inferences) perSeq.set(seq, (perSeq.get(seq) ?? 0) + 1);
  expect([...perSeq].filter(([, n]) => n > 1), "readings inferred more than once").toEqual([]);
  expect(new Set(all.map((e) => e.event.metadata.id)).size, "INFERENCES holds no event twice").toBe(all.length);
  const decisions = all.filter((e) => e.event.type === "tide.decision.made.v1" && seqs.has(e.event.data.readingSeq));
  expect(decisions.length, "decisions made on these readings").toBeGreaterThan(0);
  if (by !== undefined) {
    const late = inferences.filter(({ e, seq }) => seqs.has(seq) && Date.parse(e.storedAt) > by);
    expect(late.map((l) => l.seq), "inferences stored only after the fault ended").toEqual([]);
    expect(decisions.filter((d) => Date.parse(d.storedAt) > by).length, "decisions stored only after the fault ended").toBe(0);
  }
  return { inferred: seqs.size, decisions: decisions.length };
}

/** Invariant 4: no process was restarted except those the fault hit (a supervisor restarts only what died). */
export function expectOnlyRestarted(before: Record<string, number | undefined>, after: Record<string, number | undefined>, hit: readonly string[]): void {
  for (const [name, pid] of Object.entries(before)) {
    expect(after[name], `${name} is running`).toBeDefined();
    if (!hit.includes(name)) expect(after[name], `${name} was not restarted`).toBe(pid);
  }
}
