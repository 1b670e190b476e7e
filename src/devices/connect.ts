import { connect, type ConnectionOptions, type NatsConnection } from "nats";
import { NotFoundError } from "../errors.ts";
import { gatewayInboxPrefix } from "../topology/auth.ts";
import { addressOf, type PlaceAddress } from "../topology/connect.ts";
import { readCredentials, type TopologyFile } from "../topology/files.ts";
import { deviceCredentials } from "./registry.ts";

/** Connect as device `device` of `edge` (added with `tide device add`): it may publish its readings and receive its commands and acks, nothing more. */
export async function connectAsDevice(topology: TopologyFile, edge: string, device: string, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const { url }: PlaceAddress = addressOf(topology, edge);
  const own = deviceCredentials(topology, edge, device);
  return connect({ servers: url, user: own.user, pass: own.password, inboxPrefix: own.inboxPrefix, name: `tide-device-${edge}-${device}`, noAsyncTraces: true, ...options });
}

/** Connect as `edge`'s device gateway (the simulator, `tide publish`): device rights for every device of that edge. */
export async function connectAsGateway(topology: TopologyFile, edge: string, options: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  const { url } = addressOf(topology, edge);
  const gateway = readCredentials(topology.credentialsPath).edges[edge]?.gateway;
  if (!gateway) throw new NotFoundError(`no gateway credentials for edge '${edge}' in ${topology.credentialsPath}`);
  return connect({
    servers: url,
    user: gateway.user,
    pass: gateway.password,
    inboxPrefix: gatewayInboxPrefix(edge),
    name: `tide-gateway-${edge}`,
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...options,
  });
}

/** MQTT connect options for a device (username/password are its NATS user). */
export function deviceMqttOptions(topology: TopologyFile, edge: string, device: string): { url: string; username: string; password: string } {
  const own = deviceCredentials(topology, edge, device);
  if (!own.mqttUrl) throw new NotFoundError(`no edge '${edge}' in the topology`);
  return { url: own.mqttUrl, username: own.mqttUser, password: own.password };
}
