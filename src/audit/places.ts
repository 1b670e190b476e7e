import type { NatsConnection } from "nats";
import { errorMessage } from "../errors.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../ids.ts";
import { connectTo, type TopologyFile } from "../topology/index.ts";

/** An edge an audit reads: its connection, or why there is none. */
export interface AuditEdge {
  id: string;
  domain: string;
  nc?: NatsConnection;
  unreachable?: string;
}

/** The connections an audit reads the fleet through: the hub, and every edge of the topology it can reach. */
export interface AuditPlaces {
  cloud: NatsConnection;
  cloudDomain: string;
  edges: AuditEdge[];
  close(): Promise<void>;
}

export interface OpenPlacesOptions {
  /** Only these edges (default: every edge of the topology). */
  edges?: readonly string[];
  /** Give up on a server after this long (ms). */
  timeoutMs?: number;
}

/**
 * Connect to the hub (required) and to each edge (an edge that cannot be
 * reached is recorded as such: the audit reports what it could not check).
 */
export async function openPlaces(topology: TopologyFile, options: OpenPlacesOptions = {}): Promise<AuditPlaces> {
  const { timeoutMs = 5000 } = options;
  const connectionOptions = { name: "tide-audit", maxReconnectAttempts: 0, timeout: timeoutMs };
  const cloud = await connectTo(topology, CLOUD_DOMAIN, connectionOptions);
  const wanted = options.edges ?? topology.edges.map((e) => e.id);
  const edges = await Promise.all(
    wanted.map(async (id): Promise<AuditEdge> => {
      try {
        return { id, domain: edgeDomain(id), nc: await connectTo(topology, id, connectionOptions) };
      } catch (error) {
        return { id, domain: edgeDomain(id), unreachable: errorMessage(error) };
      }
    }),
  );
  return {
    cloud,
    cloudDomain: CLOUD_DOMAIN,
    edges,
    async close() {
      await Promise.all([cloud, ...edges.map((e) => e.nc)].map((nc) => nc?.close().catch(() => undefined)));
    },
  };
}
