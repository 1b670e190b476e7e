import { join } from "node:path";
import { CLOUD_DOMAIN, edgeDomain } from "../../ids.ts";
import { NotFoundError, UsageError } from "../../errors.ts";
import { createLogger } from "../../log.ts";
import { untilSignal } from "../../fleet.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { createApplier, followProjections, findProjection, openProjectionDb, projectionCatalogue, type Projection } from "../../../projections/index.ts";
import { DIR_OPTION, dirOf, parse, time } from "../args.ts";

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
    const rows = db.prepare(`SELECT * FROM "${projection.tables[0]}" ORDER BY 1, 2, 3`).all() as Record<string, unknown>[];
    if (values.json) {
      for (const row of rows) process.stdout.write(JSON.stringify(row) + "\n");
    } else {
      const columns = Object.keys(rows[0] ?? {});
      process.stdout.write(columns.join("\t") + "\n");
      for (const row of rows) process.stdout.write(columns.map((c) => String(row[c])).join("\t") + "\n");
    }
    process.stderr.write(
      `${projection.name} rebuilt from ${domain} ${projection.source(kind, place).stream}${asOf ? ` as of ${asOf.toISOString()}` : ""}: ` +
        `${result.applied} event(s) applied up to seq ${result.lastSeq}, ${rows.length} row(s), ${result.invalid} invalid skipped -> ${path}\n`,
    );
    return 0;
  } finally {
    db.close();
    await nc.close();
  }
}
