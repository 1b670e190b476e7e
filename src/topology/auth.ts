import { OFFLOAD_SUBJECT } from "../../edge-runtime/offload.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../ids.ts";
import type { Credentials, UserPassword } from "./files.ts";

/**
 * Who may do what on each server, rendered into the files the configs
 * include: the hub's `accounts.conf`, each edge's `users.conf`.
 *
 * Hub:  the cloud account TIDE with `tide` (cloud services and the CLI;
 *       full), and one account per edge holding that edge's leaf user; what
 *       crosses between them is their exports and imports
 *       (`renderHubAccounts`).
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

/**
 * Link probes, which no stream captures and no service answers: they show
 * that a link carries core messages right now. Up from an edge to the cloud
 * account (`tide.probe.up.edge-<id>.<tag>`), down from the cloud to every
 * edge: two families, as an account may not import what it exports.
 */
export const PROBE_UP = "tide.probe.up";
export const PROBE_DOWN = "tide.probe.down";

/**
 * The cloud streams an edge may read, and only through message gets (stream
 * info and message gets, no consumers): ROLLOUTS (rollout agent), TASKS (task
 * worker), the models bucket (model downloads), READINGS (link monitor, and
 * task data that lives in the cloud) and MODELS.
 */
export const EDGE_READABLE_CLOUD_STREAMS = ["ROLLOUTS", "TASKS", "MODELS", "READINGS", "OBJ_models"] as const;

/**
 * The cloud JetStream API an edge may call, as the hub's cloud account
 * exports it to each edge's account: JetStream info (the link monitor's
 * round trip) and, for each readable stream, its info and its message gets
 * through the stream leader (by sequence, next by subject, last by subject:
 * `STREAM.MSG.GET`, what nats.js and src/store/read-by-gets.ts use; direct
 * gets are not needed, so not exported). Nothing else: no consumer of any kind (whoever creates a consumer
 * picks where a push consumer delivers, which would make the cloud's
 * JetStream publish in the cloud account on an edge's behalf), no stream
 * administration, no other stream.
 */
export function edgeCloudApi(api = "$JS.API"): string[] {
  return [
    `${api}.INFO`,
    ...EDGE_READABLE_CLOUD_STREAMS.flatMap((s) => [`${api}.STREAM.INFO.${s}`, `${api}.STREAM.MSG.GET.${s}`]),
  ];
}

/** The cloud's account on the hub: its service user and JetStream. */
export const CLOUD_ACCOUNT = "TIDE";

/** The hub account an edge's leaf link lands in. */
export function edgeAccount(edge: string): string {
  return `EDGE_${edge}`;
}

/** What an edge may send to the cloud account besides API reads: its own heartbeats, task reports and joint-inference requests. */
function edgeCloudServices(edge: string): string[] {
  return [subjects.node(edgeDomain(edge)), subjects.task("*"), OFFLOAD_SUBJECT];
}

/**
 * The hub's leaf user of `edge`, in that edge's own account (see
 * `renderHubAccounts`: the account is the boundary, enforced by the hub on
 * every message whatever speaks on the link). These rights are what the hub
 * tells a stock edge server, which then forwards nothing else, so a refused
 * request is answered "no responders" at once instead of timing out.
 *
 * Into the hub (publish): the cloud API reads, its own heartbeats, task
 * reports, joint-inference requests, what the cloud's streams source from it
 * (`deliver.edge-<id>.>`), replies to the cloud's requests (`_R_.`: the hub
 * maps reply subjects across accounts) and its probes.
 * Out to the edge (subscribe): its own JetStream API, its own inbox (the
 * replies to its requests), flow control of the cloud's sources and the
 * cloud's probes.
 */
export function leafPermissions(edge: string): Permissions {
  const own = edgeDomain(edge);
  return {
    publish: {
      allow: [...edgeCloudApi(CLOUD_API), ...edgeCloudServices(edge), `deliver.${own}.>`, "_R_.>", `${PROBE_UP}.${own}.>`],
    },
    subscribe: { allow: [`$JS.${own}.API.>`, `_INBOX.${own}.>`, "$JS.FC.>", `${PROBE_DOWN}.>`] },
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

const exportTo = (accounts: readonly string[]) => `accounts: ${list(accounts)}`;
const serviceExport = (subject: string, to: readonly string[], extra = "") => `{ service: ${q(subject)}, ${exportTo(to)}${extra} }`;
const streamExport = (subject: string, to: readonly string[]) => `{ stream: ${q(subject)}, ${exportTo(to)} }`;
const serviceImport = (account: string, subject: string) => `{ service: { account: ${q(account)}, subject: ${q(subject)} } }`;
const streamImport = (account: string, subject: string) => `{ stream: { account: ${q(account)}, subject: ${q(subject)} } }`;

function renderAccount(name: string, lines: { jetstream?: boolean; users: string[]; exports: string[]; imports: string[] }): string {
  const section = (key: string, items: string[]) => (items.length ? [`    ${key}: [`, ...items.map((i) => `      ${i}`), "    ]"] : []);
  return [
    `  ${q(name)}: {`,
    ...(lines.jetstream ? ["    jetstream: enabled"] : []),
    ...section("users", lines.users.map((u) => u.trim())),
    ...section("exports", lines.exports),
    ...section("imports", lines.imports),
    "  }",
  ].join("\n");
}

/**
 * The hub's `accounts.conf`: the cloud account (its service user, with
 * JetStream) and one account per edge holding only that edge's leaf user.
 * An edge's leaf link lands in its own account, so whatever speaks on it (a
 * stock edge server or a hand-written leaf connection) reaches exactly what
 * that account imports: nothing of another edge, and of the cloud its own
 * heartbeat subject, task reports, joint inference and the read API of
 * `edgeCloudApi`. The cloud account imports each edge's JetStream API (its
 * streams source the edges' through it, and the CLI reads them) and what its
 * streams source (`deliver.edge-<id>.>`).
 */
export function renderHubAccounts(credentials: Credentials, edges: readonly string[]): string {
  const edgeAccounts = edges.map(edgeAccount);
  const blocks = [
    renderAccount(CLOUD_ACCOUNT, {
      jetstream: true,
      users: [renderUser(credentials.service, ["STANDARD"])],
      exports: edges.length === 0 ? [] : [
        ...[...edgeCloudApi(), subjects.task("*"), OFFLOAD_SUBJECT].map((subject) => serviceExport(subject, edgeAccounts)),
        ...edges.map((edge) => serviceExport(subjects.node(edgeDomain(edge)), [edgeAccount(edge)])),
        streamExport(`${PROBE_DOWN}.>`, edgeAccounts),
        // Flow control of the cloud streams' sources: the edge's consumer waits for these replies. As a stream (not
        // a service import of each edge's, which 2.9.10 cannot hold twice under one subject) every edge's account
        // gets them, and only the edge whose consumer asked has interest; they carry nothing.
        streamExport("$JS.FC.>", edgeAccounts),
      ],
      imports: edges.flatMap((edge) => {
        const own = edgeDomain(edge);
        return [serviceImport(edgeAccount(edge), `$JS.${own}.API.>`), streamImport(edgeAccount(edge), `deliver.${own}.>`), streamImport(edgeAccount(edge), `${PROBE_UP}.${own}.>`)];
      }),
    }),
  ];
  for (const edge of edges) {
    const own = credentials.edges[edge];
    if (!own) throw new Error(`no credentials for edge ${edge}`);
    const domain = edgeDomain(edge);
    blocks.push(
      renderAccount(edgeAccount(edge), {
        users: [renderUser(own.leaf, ["LEAFNODE"], leafPermissions(edge))],
        exports: [
          // A request may be answered by many messages (a pull of a batch).
          serviceExport(`$JS.${domain}.API.>`, [CLOUD_ACCOUNT], ", response_type: stream"),
          streamExport(`deliver.${domain}.>`, [CLOUD_ACCOUNT]),
          streamExport(`${PROBE_UP}.${domain}.>`, [CLOUD_ACCOUNT]),
        ],
        imports: [
          ...[...edgeCloudApi(), ...edgeCloudServices(edge)].map((subject) => serviceImport(CLOUD_ACCOUNT, subject)),
          streamImport(CLOUD_ACCOUNT, `${PROBE_DOWN}.>`),
          streamImport(CLOUD_ACCOUNT, "$JS.FC.>"),
        ],
      }),
    );
  }
  return `# hub accounts: generated by Tide (src/topology/auth.ts) on every start.\naccounts {\n${blocks.join("\n")}\n}\n`;
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
