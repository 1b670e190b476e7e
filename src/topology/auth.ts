import { edgeDomain } from "../ids.ts";
import type { Credentials, UserPassword } from "./files.ts";

/**
 * Who may do what on each server, rendered into the `users.conf` that the
 * hub's and each edge's configuration include (TIDE account).
 *
 * Hub:  `tide` (cloud services; full) and one leaf user per edge, which may
 *       not reach any other edge's JetStream API or deliver subjects, nor
 *       create, change, purge or delete cloud streams.
 * Edge: `tide` (that edge's runtime; full, its own password: an edge never
 *       holds the hub's), `gateway` (the simulator, `tide publish`: any device
 *       of this edge, device subjects only) and one user per device (its own
 *       ingest subject; its own command and ack subjects and inbox).
 */

/** A device's NATS user name on its edge. */
export function deviceUser(edge: string, device: string): string {
  return `device-${edge}-${device}`;
}

/**
 * A device's MQTT user name (same password). MQTT is a user of its own because
 * a QoS 1 subscription needs `$MQTT.sub.>` (the server's delivery subjects for
 * every MQTT session); that user is allowed MQTT connections only, where a
 * client cannot subscribe to `$MQTT.` topics, so no device can read another's
 * deliveries through it.
 */
export function deviceMqttUser(edge: string, device: string): string {
  return `mqtt-${edge}-${device}`;
}

/** The inbox prefix a device must connect with (it may subscribe to nothing else but its command and ack subjects). */
export function deviceInboxPrefix(edge: string, device: string): string {
  return `_INBOX.dev.${edge}.${device}`;
}

export function gatewayInboxPrefix(edge: string): string {
  return `_INBOX.gw.${edge}`;
}

export interface SubjectPermissions {
  allow: readonly string[];
  deny?: readonly string[];
}

export interface Permissions {
  publish: SubjectPermissions;
  subscribe: SubjectPermissions;
}

/** What device `device` of `edge` may do: publish its readings, receive its commands, acks and replies. Nothing else (no JetStream API). */
export function devicePermissions(edge: string, device: string): Permissions {
  return {
    publish: { allow: [`tide.ingest.${edge}.${device}`] },
    subscribe: { allow: [`tide.command.${edge}.${device}`, `tide.ack.${edge}.${device}`, `${deviceInboxPrefix(edge, device)}.>`] },
  };
}

/** The same over MQTT (topics `tide/ingest/<edge>/<device>` ...), plus the server's QoS 1 delivery subjects. */
export function deviceMqttPermissions(edge: string, device: string): Permissions {
  return {
    publish: { allow: [`tide.ingest.${edge}.${device}`] },
    subscribe: { allow: [`tide.command.${edge}.${device}`, `tide.ack.${edge}.${device}`, "$MQTT.sub.>"] },
  };
}

/** nats-server connection types a user may connect with. */
type ConnectionType = "STANDARD" | "WEBSOCKET" | "MQTT" | "LEAFNODE";

/** A gateway speaks for every device of its edge (the simulator, `tide publish`), with device rights only. */
export function gatewayPermissions(edge: string): Permissions {
  return {
    publish: { allow: [`tide.ingest.${edge}.*`] },
    subscribe: { allow: [`tide.command.${edge}.*`, `tide.ack.${edge}.*`, `${gatewayInboxPrefix(edge)}.>`] },
  };
}

/** Cloud stream administration an edge never needs (it reads cloud streams, sources them and appends to them). */
const CLOUD_ADMIN_API = ["CREATE", "UPDATE", "DELETE", "PURGE", "MSG.DELETE"].map((op) => `$JS.cloud.API.STREAM.${op}.>`);

/**
 * The hub's leaf user of `edge`: what that edge may send into the hub
 * (publish) and receive from it (subscribe). No other edge's JetStream API
 * (so it cannot read, write or delete another edge's streams through the
 * hub), no other edge's deliver subjects (so it can neither forge nor
 * intercept what another edge's UPLINK sources into the cloud).
 */
export function leafPermissions(edge: string, allEdges: readonly string[]): Permissions {
  const others = allEdges.filter((e) => e !== edge).flatMap((e) => [`$JS.${edgeDomain(e)}.API.>`, `deliver.${edgeDomain(e)}.>`]);
  return {
    publish: { allow: [">"], deny: [...others, ...CLOUD_ADMIN_API] },
    subscribe: { allow: [">"], deny: others },
  };
}

const q = (s: string) => JSON.stringify(s);
const list = (subjects: readonly string[]) => `[${subjects.map(q).join(", ")}]`;

function renderPermissions(p: Permissions): string {
  const side = (s: SubjectPermissions) => `{ allow: ${list(s.allow)}${s.deny?.length ? `, deny: ${list(s.deny)}` : ""} }`;
  return `{ publish: ${side(p.publish)}, subscribe: ${side(p.subscribe)} }`;
}

function renderUser(u: UserPassword, connectionTypes: readonly ConnectionType[], permissions?: Permissions): string {
  // Quoted: nats-server reads an unquoted hex password as a number.
  const types = `, allowed_connection_types: ${list(connectionTypes)}`;
  return `  { user: ${q(u.user)}, password: ${q(u.password)}${types}${permissions ? `, permissions: ${renderPermissions(permissions)}` : ""} }`;
}

function usersFile(what: string, users: string[]): string {
  return `# ${what}: generated by Tide (src/topology/auth.ts); regenerated on start and by \`tide device add\`.\nusers: [\n${users.join("\n")}\n]\n`;
}

/** The hub's `users.conf`. */
export function renderHubUsers(credentials: Credentials, edges: readonly string[]): string {
  const users = [renderUser(credentials.service, ["STANDARD"])];
  for (const edge of edges) {
    const own = credentials.edges[edge];
    if (!own) throw new Error(`no credentials for edge ${edge}`);
    users.push(renderUser(own.leaf, ["LEAFNODE"], leafPermissions(edge, edges)));
  }
  return usersFile("hub users", users);
}

/** An edge's `users.conf`: its service user, its gateway and its devices. */
export function renderEdgeUsers(credentials: Credentials, edge: string): string {
  const own = credentials.edges[edge];
  if (!own) throw new Error(`no credentials for edge ${edge}`);
  const users = [renderUser(own.service, ["STANDARD"]), renderUser(own.gateway, ["STANDARD", "WEBSOCKET"], gatewayPermissions(edge))];
  for (const [device, user] of Object.entries(credentials.devices[edge] ?? {})) {
    users.push(renderUser(user, ["STANDARD", "WEBSOCKET"], devicePermissions(edge, device)));
    users.push(renderUser({ user: deviceMqttUser(edge, device), password: user.password }, ["MQTT"], deviceMqttPermissions(edge, device)));
  }
  return usersFile(`edge ${edge} users`, users);
}
