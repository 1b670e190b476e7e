import { existsSync } from "node:fs";
import { UsageError } from "../../errors.ts";
import { EdgeId } from "../../ids.ts";
import { ensureCertificates } from "../../topology/certs.ts";
import { credentialsPath, readCredentials, readTopology, topologyPath } from "../../topology/files.ts";
import { DIR_OPTION, dirOf, int, parse } from "../args.ts";

const USAGE = "tide certs [--edges N | --edge ID ...] [--host H ...] [--force] [--dir D]";

/** The edges to issue for: the flags', else the running topology's, else those with credentials, else 1..2. */
function edgesFor(dir: string, values: { edges?: string | undefined; edge?: string[] | undefined }): string[] {
  if (values.edge?.length) {
    for (const id of values.edge) if (!EdgeId.safeParse(id).success) throw new UsageError(`--edge '${id}' is not a valid edge id`);
    return values.edge;
  }
  const count = int(values.edges, "edges", { min: 1, max: 64 });
  if (count !== undefined) return Array.from({ length: count }, (_, i) => String(i + 1));
  if (existsSync(topologyPath(dir))) return readTopology(dir).edges.map((e) => e.id);
  if (existsSync(credentialsPath(dir))) {
    const known = Object.keys(readCredentials(credentialsPath(dir)).edges);
    if (known.length > 0) return known;
  }
  return ["1", "2"];
}

/**
 * `tide certs`: the leaf links' certificates under `<dir>/certs/` — a Tide CA,
 * the hub's leaf server certificate, one client certificate per edge. Only
 * what is missing is made (`--force` makes all anew). `tide up` makes them on
 * first start too; this is for doing it ahead, or for remote edges.
 */
export async function certsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION, edges: { type: "string" }, edge: { type: "string", multiple: true }, host: { type: "string", multiple: true }, force: { type: "boolean" } }, USAGE);
  const dir = dirOf(values.dir);
  const edges = edgesFor(dir, values);
  const { paths, created } = ensureCertificates(dir, { edges, hubHosts: values.host ?? [], ...(values.force ? { force: true } : {}) });
  const out = (line: string) => process.stdout.write(line + "\n");
  out(created.length ? `made ${created.length} certificate(s) in ${paths.dir}:` : `certificates in ${paths.dir} are complete (nothing made):`);
  for (const path of created) out(`  ${path}`);
  out(`CA ${paths.ca}; hub ${paths.hub.cert}; edges ${edges.map((e) => paths.edge(e).cert).join(", ")}`);
  if (values.force) out("restart `tide up` so the servers load the new certificates");
  return 0;
}
