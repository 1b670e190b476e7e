import { createApplier, findProjection, openProjectionDb } from "../../../projections/index.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, parse, time } from "../args.ts";
import { STATUS_SECTIONS, type StatusContext } from "../status/index.ts";

const USAGE = "tide status [--window S] [--limit N] [--as-of T] [--json] [--dir D]";

/**
 * `tide status`: what the fleet is doing, section by section (nodes and their
 * utilisation, tasks and their T_delay, ...). The cloud projections the
 * sections read are rebuilt from the streams into a scratch database, so the
 * answer is current whether or not `tide cloud` is running. `--as-of T`
 * rebuilds them from the events stored up to T only: the fleet as it was then.
 */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION, window: { type: "string" }, limit: { type: "string" }, "as-of": { type: "string" }, json: { type: "boolean" } }, USAGE);
  const windowS = int(values.window, "window", { min: 1, max: 30 * 86_400 }) ?? 300;
  const limit = int(values.limit, "limit", { min: 1, max: 1000 }) ?? 20;
  const asOf = time(values["as-of"], "as-of");
  const topology = readTopology(dirOf(values.dir));
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-status", maxReconnectAttempts: 0 });
  const db = openProjectionDb(":memory:");
  try {
    const names = [...new Set(STATUS_SECTIONS.flatMap((s) => s.projections))];
    for (const name of names) {
      const projection = findProjection(name);
      if (projection) await createApplier({ nc, db, projection, place: "cloud", domain: CLOUD_DOMAIN }).run(asOf ? { until: asOf } : {});
    }
    const ctx: StatusContext = { topology, nc, db, windowMs: windowS * 1000, limit, now: asOf?.getTime() ?? Date.now() };
    if (values.json) {
      const out: Record<string, unknown> = {};
      if (asOf) out.asOf = asOf.toISOString();
      for (const section of STATUS_SECTIONS) out[section.name] = await section.json(ctx);
      process.stdout.write(JSON.stringify(out) + "\n");
    } else {
      const blocks: string[] = asOf ? [`The fleet as of ${asOf.toISOString()} (from the events stored until then)`] : [];
      for (const section of STATUS_SECTIONS) blocks.push((await section.render(ctx)).join("\n"));
      process.stdout.write(blocks.join("\n\n") + "\n");
    }
  } finally {
    db.close();
    await nc.close();
  }
  return 0;
}
