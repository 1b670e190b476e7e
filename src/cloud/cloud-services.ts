import { join } from "node:path";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { selectBackend } from "../model/backend.ts";
import { connectTo, type TopologyFile } from "../topology/index.ts";
import { applyStreams } from "../../streams/apply.ts";
import { followProjections, openProjectionDb, projectionCatalogue } from "../../projections/index.ts";
import { createInferenceEngine } from "../../edge-runtime/inference/engine.ts";
import { startOffloadResponder } from "./offload-responder.ts";

export function cloudProjectionDbPath(topology: TopologyFile): string {
  return join(topology.dir, "hub", "projections.db");
}

/**
 * `tide cloud`: the cloud services against the hub. Cloud streams applied
 * (READINGS sourcing every edge), the fleet-wide projections, and the
 * joint-inference responder.
 */
export async function startCloudServices(options: { topology: TopologyFile; logger?: Logger }) {
  const { topology, logger = silentLogger } = options;
  const log = logger.child({ place: "cloud" });
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-cloud" });
  await applyStreams({ nc, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: topology.edges.map((e) => e.id) }, logger: log });
  const db = openProjectionDb(cloudProjectionDbPath(topology));
  const projections = followProjections({ nc, db, projections: projectionCatalogue, place: "cloud", domain: CLOUD_DOMAIN, logger: log });
  const { tf } = await selectBackend({ logger: log });
  const engine = createInferenceEngine({ tf, logger: log });
  const offload = startOffloadResponder(nc, engine, log);
  return {
    nc,
    db,
    engine,
    offload,
    async stop(): Promise<void> {
      await offload.stop();
      await engine.close();
      await projections.stop();
      db.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
export type CloudServices = Awaited<ReturnType<typeof startCloudServices>>;
