import { OFFLOAD_SUBJECT } from "../../edge-runtime/offload.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../ids.ts";
import type { Credentials, UserPassword } from "./files.ts";

/**
 * Who may do what on each server, rendered into the `users.conf` that the
 * hub's and each edge's configuration include (TIDE account).
 *
 * Hub:  `tide` (cloud services and the CLI; full) and one leaf user per
 *       edge, allowed only what crosses that edge's leaf link (see
 *       `leafPermissions`).
 * Edge: `tide` (that edge's runtime and the CLI there; full on its own
 *       server, its own password: an edge never holds the hub's), `gateway`
 *       (the simulator, `tide publish`: any device of this edge, device
 *       subjects only) and one user per device (its own ingest subject; its
 *       own command and ack subjects and inbox).
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

/**
 * The inbox prefix of a Tide service connection to `place` (`connectTo`):
 * an edge's own, so the hub can deliver each edge the replies to its own
 * requests and nothing else; none (nats.js's `_INBOX`) for the cloud.
 */
export function serviceInboxPrefix(place: string): string | undefined {
  return place === CLOUD_DOMAIN ? undefined : `_INBOX.${edgeDomain(place)}`;
}

const CLOUD_API = `$JS.${CLOUD_DOMAIN}.API`;
const LINK_PROBES = "tide.probe.>";

/**
 * The cloud JetStream API an edge uses, all of it reading: JetStream info
 * (link monitor), stream info and names, message gets (link monitor, Object
 * Store metadata), and the ephemeral ordered consumers it reads ROLLOUTS,
 * TASKS, the models bucket and cloud task data through (create, info, pull).
 * Not listed, so refused: every stream and consumer administration (create
 * or change a stream, purge, delete a stream, a message or a consumer,
 * durable consumers, snapshots), account and server operations.
 */
const CLOUD_API_READS = [
  `${CLOUD_API}.INFO`,
  `${CLOUD_API}.STREAM.INFO.*`,
  `${CLOUD_API}.STREAM.NAMES`,
  `${CLOUD_API}.STREAM.MSG.GET.*`,
  `${CLOUD_API}.DIRECT.GET.>`,
  `${CLOUD_API}.CONSUMER.CREATE.>`,
  `${CLOUD_API}.CONSUMER.INFO.*.*`,
  `${CLOUD_API}.CONSUMER.MSG.NEXT.*.*`,
];

/**
 * The hub's leaf user of `edge`: an allow-list of what that edge's leaf link
 * may carry into the hub (publish) and out to the edge (subscribe).
 *
 * Into the hub: the cloud API reads above; its own heartbeats
 * (`tide.node.edge-<id>`); task reports (`tide.task.<task>`: the subject has
 * no node in it, so any edge may report on any task); joint-inference
 * requests (`tide.offload.predict`: no edge in the subject either); what the
 * cloud READINGS and MODELS source from it (`deliver.edge-<id>.>`); and
 * answers to the hub's requests (`_INBOX.>` but no other edge's inbox,
 * `$JSC.R.>` for the hub's source consumers, `$JS.FC.>` flow control).
 * No `$JS.ACK.>`, no `$O.>` / `$KV.>`, no other cloud family, no other
 * edge's JetStream API or deliver subjects.
 *
 * Out to the edge: its own JetStream API (the hub's requests, sourcing), the
 * replies to its own requests (its service connections use the inbox prefix
 * `_INBOX.edge-<id>`, see `serviceInboxPrefix`) and flow control. Nothing of
 * another edge, no cloud event.
 *
 * Both ways: link probes (`tide.probe.>`), which no stream captures and no
 * service answers; they show that a link carries core messages right now.
 *
 * nats-server 2.9.10 enforces the subscribe side at the hub for every
 * message. The publish side is enforced by the edge's own server (the hub
 * sends it these rights and announces interest only in allowed subjects):
 * it holds against a compromised edge runtime, not against a host that
 * speaks the leaf protocol itself (docs/DESIGN-NOTES.md).
 */
export function leafPermissions(edge: string, allEdges: readonly string[]): Permissions {
  const own = edgeDomain(edge);
  const others = allEdges.filter((e) => e !== edge).map((e) => edgeDomain(e));
  return {
    publish: {
      allow: [...CLOUD_API_READS, subjects.node(own), subjects.task("*"), OFFLOAD_SUBJECT, `deliver.${own}.>`, "_INBOX.>", "$JSC.R.>", "$JS.FC.>", LINK_PROBES],
      deny: others.map((d) => `_INBOX.${d}.>`),
    },
    subscribe: { allow: [`$JS.${own}.API.>`, `_INBOX.${own}.>`, "$JS.FC.>", LINK_PROBES] },
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
