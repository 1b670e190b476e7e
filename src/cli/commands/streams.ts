import { CLOUD_DOMAIN, edgeDomain } from "../../ids.ts";
import { UsageError } from "../../errors.ts";
import { cloudReplicas, connectTo, readTopology } from "../../topology/index.ts";
import { applyStreams } from "../../../streams/apply.ts";
import { DIR_OPTION, dirOf, parse } from "../args.ts";

const USAGE = "tide streams apply [--dir D]";

/** Apply the stream catalogue to every server of the running topology; re-applying changes nothing. */
export async function streamsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...DIR_OPTION }, USAGE, 1);
  if (positionals[0] !== "apply") throw new UsageError(`unknown streams subcommand '${positionals[0] ?? ""}'\nusage: ${USAGE}`);
  const topology = readTopology(dirOf(values.dir));
  const edges = topology.edges.map((e) => e.id);
  const places = [...edges.map((edge) => ({ place: edge, domain: edgeDomain(edge), kind: "edge" as const })), { place: CLOUD_DOMAIN, domain: CLOUD_DOMAIN, kind: "cloud" as const }];
  for (const { place, domain, kind } of places) {
    const nc = await connectTo(topology, place);
    try {
      const results = await applyStreams({ nc, place: kind, domain, context: kind === "edge" ? { edge: place, edges } : { edges, replicas: cloudReplicas(topology) } });
      for (const r of results) process.stdout.write(`${domain.padEnd(10)} ${r.stream.padEnd(12)} ${r.action}${r.changed.length ? ` (${r.changed.join(", ")})` : ""}\n`);
    } finally {
      await nc.close();
    }
  }
  return 0;
}
