import type { RolloutSettingsInput } from "./rollout/config.ts";
import { startCloudServices, type CloudServices } from "./cloud/cloud-services.ts";
import { ensureEdgePolicy, startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { silentLogger, type Logger } from "./log.ts";
import { startTopology, type Topology, type TopologyOptions } from "./topology/index.ts";

/** A whole Tide system on this machine: the topology's servers and every service, in one process. */
export interface Fleet {
  topology: Topology;
  cloud: CloudServices;
  edges: Map<string, EdgeRuntime>;
  stop(): Promise<void>;
}

export interface FleetOptions extends TopologyOptions {
  logger?: Logger;
  heartbeatMs?: number;
  /** Rollout settings for the cloud (default: `<dir>/rollout.json`, else no automatic rollouts). */
  rollout?: RolloutSettingsInput;
  /** Give each edge its policy file `<dir>/edge-<id>/policy.json` (default true); false = forward every reading raw. */
  policies?: boolean;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const logger = options.logger ?? silentLogger;
  const topology = await startTopology(options);
  const edges = new Map<string, EdgeRuntime>();
  let cloud: CloudServices | undefined;
  const stop = async () => {
    for (const services of edges.values()) await services.stop();
    await cloud?.stop();
    await topology.stop();
  };
  try {
    // Edge streams first: the cloud READINGS sources each edge's UPLINK.
    for (const { id } of topology.file.edges) {
      const runtime = await startEdgeRuntime({
        topology: topology.file,
        edge: id,
        logger,
        ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
        ...(options.policies === false ? {} : { policyPath: ensureEdgePolicy(topology.file, id) }),
      });
      edges.set(id, runtime);
    }
    cloud = await startCloudServices({ topology: topology.file, logger, ...(options.rollout ? { rollout: options.rollout } : {}) });
  } catch (error) {
    await stop();
    throw error;
  }
  return { topology, cloud, edges, stop };
}
