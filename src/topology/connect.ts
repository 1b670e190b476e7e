import { connect, type ConnectionOptions, type NatsConnection } from "nats";
import { NotFoundError } from "../errors.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { readThroughGets } from "../store/read-by-gets.ts";
import { serviceInboxPrefix } from "./auth.ts";
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

/** The service user of `place`: the hub's, or that edge's own. */
export function serviceCredentials(topology: TopologyFile, place: Place): { user: string; password: string } {
  const credentials = readCredentials(topology.credentialsPath);
  if (place === CLOUD_DOMAIN) return credentials.service;
  const own = credentials.edges[place];
  if (!own) throw new NotFoundError(`no credentials for edge '${place}' in ${topology.credentialsPath}`);
  return own.service;
}

/** Connect a Tide service to the server of `place`, with the service credentials of that place. */
export async function connectTo(topology: TopologyFile, place: Place, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const { url } = addressOf(topology, place);
  const service = serviceCredentials(topology, place);
  // An edge's replies come back across its leaf link only under its own inbox prefix (auth.ts, leafPermissions).
  const inboxPrefix = serviceInboxPrefix(place);
  const nc = await connect({
    // A clustered hub: any of its servers, so the connection moves on when one goes down.
    servers: place === CLOUD_DOMAIN && topology.hubCluster ? topology.hubCluster.map((s) => s.clientUrl) : url,
    user: service.user,
    pass: service.password,
    name: `tide-${place}`,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(inboxPrefix ? { inboxPrefix } : {}),
    ...options,
  });
  // An edge's account on the hub may read cloud streams through message gets only (auth.ts, edgeCloudApi).
  if (place !== CLOUD_DOMAIN) readThroughGets(nc, CLOUD_DOMAIN);
  return nc;
}
