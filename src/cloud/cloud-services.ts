import { join } from "node:path";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { connectTo, type TopologyFile } from "../topology/index.ts";
import { applyStreams } from "../../streams/apply.ts";
import { followProjections, openProjectionDb, projectionCatalogue } from "../../projections/index.ts";

export function cloudProjectionDbPath(topology: TopologyFile): string {
  return join(topology.dir, "hub", "projections.db");
}

/** The cloud's services: cloud streams applied (READINGS sourcing every edge) and the fleet-wide projections. */
export async function startCloudServices(options: { topology: TopologyFile; logger?: Logger }) {
  const { topology, logger = silentLogger } = options;
  const log = logger.child({ place: "cloud" });
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-cloud" });
  await applyStreams({ nc, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: topology.edges.map((e) => e.id) }, logger: log });
  const db = openProjectionDb(cloudProjectionDbPath(topology));
  const projections = followProjections({ nc, db, projections: projectionCatalogue, place: "cloud", domain: CLOUD_DOMAIN, logger: log });
  return {
    nc,
    db,
    async stop(): Promise<void> {
      await projections.stop();
      db.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
export type CloudServices = Awaited<ReturnType<typeof startCloudServices>>;
