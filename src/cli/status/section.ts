import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import type { TopologyFile } from "../../topology/index.ts";

/** What every `tide status` section gets: the cloud projections (rebuilt from the streams) and the options. */
export interface StatusContext {
  topology: TopologyFile;
  /** A connection to the hub, for sections that ask it something live. */
  nc: NatsConnection;
  /** A scratch database holding the projections the sections named, rebuilt up to now. */
  db: Database.Database;
  /** `--window`: how far back windowed figures (utilisation) look, ms. */
  windowMs: number;
  /** `--limit`: most rows of a list. */
  limit: number;
  /** The time the status is taken at (epoch ms). */
  now: number;
}

/** One section of `tide status`. */
export interface StatusSection {
  /** Its key in `--json` output. */
  name: string;
  /** Names of the cloud projections it reads (see projections/index.ts). */
  projections: readonly string[];
  /** Its data, for `--json`. */
  json(ctx: StatusContext): unknown | Promise<unknown>;
  /** Its lines for people: a title, then indented lines. */
  render(ctx: StatusContext): string[] | Promise<string[]>;
}

/** Columns padded to their widest cell. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (row: readonly string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)];
}
