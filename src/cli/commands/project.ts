import type Database from "better-sqlite3";
import { join } from "node:path";
import { CLOUD_DOMAIN, edgeDomain } from "../../ids.ts";
import { NotFoundError, UsageError } from "../../errors.ts";
import { createLogger } from "../../log.ts";
import { untilSignal } from "../../stop-request.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { createApplier, followProjections, findProjection, openProjectionDb, projectionCatalogue, type Projection } from "../../../projections/index.ts";
import { DIR_OPTION, dirOf, parse, time } from "../args.ts";
import { table } from "../status/section.ts";

const USAGE = "tide project rebuild NAME [--edge ID] [--as-of T] [--json] [--dir D] | tide project run [--edge ID] [--dir D]";

function placeDir(dir: string, place: string): string {
  return join(dir, place === CLOUD_DOMAIN ? "hub" : edgeDomain(place));
}

function projectionOf(name: string | undefined): Projection {
  if (!name) throw new UsageError(`which projection? (${projectionCatalogue.map((p) => p.name).join(", ")})\nusage: ${USAGE}`);
  const projection = findProjection(name);
  if (!projection) throw new NotFoundError(`no projection '${name}' (have: ${projectionCatalogue.map((p) => p.name).join(", ")})`);
  return projection;
}

/** One table of a rebuilt projection: its columns (known even when it has no rows) and its rows. */
interface TableDump {
  name: string;
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/** Every table the projection declares, in declaration order, rows sorted by their leading columns. */
function tablesOf(db: Database.Database, projection: Projection): TableDump[] {
  return projection.tables.map((name) => {
    const columns = (db.prepare(`PRAGMA table_info("${name}")`).all() as Array<{ name: string }>).map((c) => c.name);
    const order = columns.slice(0, 3).map((_, i) => i + 1).join(", ");
    const rows = db.prepare(`SELECT * FROM "${name}"${order ? ` ORDER BY ${order}` : ""}`).all() as Array<Record<string, unknown>>;
    return { name, columns, rows };
  });
}

/** A titled table for people: `name (N rows)`, then padded columns (`-` for NULL). */
function renderTable({ name, columns, rows }: TableDump): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
  const title = `${name} (${rows.length} row(s))`;
  if (columns.length === 0) return `${title}\n  (no such table)`;
  return [title, ...table(columns, rows.map((r) => columns.map((c) => cell(r[c])))).map((l) => `  ${l}`)].join("\n");
}

/** `project rebuild` builds a fresh copy from the stream (as of a time, optionally) and prints it; `project run` keeps the live projections current. */
export async function projectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...DIR_OPTION, edge: { type: "string" }, "as-of": { type: "string" }, json: { type: "boolean" } }, USAGE, 2);
  const [sub, name] = positionals;
  const dir = dirOf(values.dir);
  const place = values.edge ?? CLOUD_DOMAIN;
  const domain = place === CLOUD_DOMAIN ? CLOUD_DOMAIN : edgeDomain(place);
  const kind = place === CLOUD_DOMAIN ? "cloud" : "edge";
  const topology = readTopology(dir);

  if (sub === "run") {
    if (name) throw new UsageError(`project run takes no name\nusage: ${USAGE}`);
    const logger = createLogger();
    const nc = await connectTo(topology, place, { name: `tide-projections-${place}` });
    const db = openProjectionDb(join(placeDir(topology.dir, place), "projections.db"));
    const follower = followProjections({ nc, db, projections: projectionCatalogue, place: kind, ...(kind === "edge" ? { edge: place } : {}), domain, logger });
    logger.info({ place, projections: projectionCatalogue.map((p) => p.name) }, "projections following");
    await untilSignal();
    await follower.stop();
    db.close();
    await nc.drain();
    return 0;
  }
  if (sub !== "rebuild") throw new UsageError(`unknown project subcommand '${sub ?? ""}'\nusage: ${USAGE}`);
  const projection = projectionOf(name);
  const asOf = time(values["as-of"], "as-of");
  const stamp = asOf ? `.as-of-${asOf.toISOString().replace(/[:.]/g, "-")}` : "";
  const path = join(placeDir(topology.dir, place), "rebuilds", `${projection.name}${stamp}.db`);
  const nc = await connectTo(topology, place);
  const db = openProjectionDb(path);
  try {
    const applier = createApplier({ nc, db, projection, place: kind, ...(kind === "edge" ? { edge: place } : {}), domain });
    const result = await applier.rebuild(asOf ? { until: asOf } : {});
    const tables = tablesOf(db, projection);
    if (values.json) {
      const out = { projection: projection.name, domain, ...(asOf ? { asOf: asOf.toISOString() } : {}), lastSeq: result.lastSeq, tables: Object.fromEntries(tables.map((t) => [t.name, t.rows])) };
      process.stdout.write(JSON.stringify(out) + "\n");
    } else {
      process.stdout.write(tables.map(renderTable).join("\n\n") + "\n");
    }
    const counts = tables.map((t) => `${t.name} ${t.rows.length}`).join(", ");
    process.stderr.write(
      `${projection.name} rebuilt from ${domain} ${projection.source(kind, place).stream}${asOf ? ` as of ${asOf.toISOString()}` : ""}: ` +
        `${result.applied} event(s) applied up to seq ${result.lastSeq}, row(s): ${counts}, ${result.invalid} invalid skipped -> ${path}\n`,
    );
    return 0;
  } finally {
    db.close();
    await nc.close();
  }
}
