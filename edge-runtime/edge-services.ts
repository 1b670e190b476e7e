import type { NatsConnection } from "nats";
import { join } from "node:path";
import { edgeDomain, type EdgeId } from "../src/ids.ts";
import { silentLogger, type Logger } from "../src/log.ts";
import { connectTo, type TopologyFile } from "../src/topology/index.ts";
import { applyStreams } from "../streams/apply.ts";
import { followProjections, openProjectionDb, projectionCatalogue } from "../projections/index.ts";
import { startIngest, type RouteReading } from "./ingest/ingest.ts";

export interface EdgeServicesOptions {
  topology: TopologyFile;
  edge: EdgeId;
  logger?: Logger;
  route?: RouteReading;
}

export function edgeProjectionDbPath(topology: TopologyFile, edge: EdgeId): string {
  return join(topology.dir, edgeDomain(edge), "projections.db");
}

/** One edge's services: its streams applied, ingest, and its local projections on its own SQLite file. */
export async function startEdgeServices(options: EdgeServicesOptions) {
  const { topology, edge, logger = silentLogger, route } = options;
  const log = logger.child({ edge });
  const nc: NatsConnection = await connectTo(topology, edge, { name: `tide-edge-${edge}` });
  await applyStreams({ nc, place: "edge", domain: edgeDomain(edge), context: { edge, edges: topology.edges.map((e) => e.id) }, logger: log });
  const ingest = startIngest({ nc, edge, logger: log, ...(route ? { route } : {}) });
  const db = openProjectionDb(edgeProjectionDbPath(topology, edge));
  const projections = followProjections({ nc, db, projections: projectionCatalogue, place: "edge", edge, domain: edgeDomain(edge), logger: log });
  return {
    nc,
    ingest,
    db,
    async stop(): Promise<void> {
      await ingest.stop();
      await projections.stop();
      db.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
export type EdgeServices = Awaited<ReturnType<typeof startEdgeServices>>;
