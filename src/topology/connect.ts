import { connect, type ConnectionOptions, type NatsConnection } from "nats";
import { NotFoundError } from "../errors.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { readCredentials, type TopologyFile } from "./files.ts";

/** `cloud` (the hub) or an edge id. */
export type Place = "cloud" | string;

export interface PlaceAddress {
  place: Place;
  domain: string;
  url: string;
}

export function addressOf(topology: TopologyFile, place: Place): PlaceAddress {
  if (place === CLOUD_DOMAIN) return { place, domain: topology.hub.domain, url: topology.hub.clientUrl };
  const edge = topology.edges.find((e) => e.id === place);
  if (!edge) throw new NotFoundError(`no edge '${place}' in ${topology.dir}/topology.json (edges: ${topology.edges.map((e) => e.id).join(", ") || "none"})`);
  return { place, domain: edge.domain, url: edge.clientUrl };
}

/** Connect a Tide service to the server of `place`, with the service credentials of the topology. */
export async function connectTo(topology: TopologyFile, place: Place, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const { url } = addressOf(topology, place);
  const { service } = readCredentials(topology.credentialsPath);
  return connect({
    servers: url,
    user: service.user,
    pass: service.password,
    name: `tide-${place}`,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...options,
  });
}
