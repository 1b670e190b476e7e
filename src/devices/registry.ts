import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NotFoundError, TopologyError, ValidationError, errorMessage } from "../errors.ts";
import { DeviceId, EdgeId, edgeDomain } from "../ids.ts";
import { deviceInboxPrefix, deviceMqttUser, deviceUser, renderEdgeUsers } from "../topology/auth.ts";
import { credentialsPath, loadOrCreateCredentials, newSecret, readCredentials, readTopology, topologyPath, writeCredentials, type TopologyFile } from "../topology/files.ts";

/** What a device needs to connect: handed to whoever installs it (`<dir>/devices/<edge>/<device>.json`, mode 0600). */
export interface DeviceCredentials {
  edge: string;
  device: string;
  /** The NATS user; MQTT uses `mqttUser` with the same password. */
  user: string;
  mqttUser: string;
  password: string;
  /** NATS request/reply needs it: the device may subscribe to nothing else besides its command and ack subjects. */
  inboxPrefix: string;
  /** The edge's NATS and MQTT URLs, when the topology is known. */
  natsUrl?: string;
  mqttUrl?: string;
  /** Publish readings here (NATS), or on the same with `/` (MQTT). */
  ingestSubject: string;
  commandSubject: string;
  ackSubject: string;
}

export function deviceCredentialsPath(dir: string, edge: string, device: string): string {
  return join(dir, "devices", edge, `${device}.json`);
}

function edgeEntry(topology: TopologyFile | undefined, edge: string) {
  return topology?.edges.find((e) => e.id === edge);
}

/** The edge's `users.conf` lives beside its `nats.conf`. */
function edgeUsersPath(dir: string, topology: TopologyFile | undefined, edge: string): string {
  const entry = edgeEntry(topology, edge);
  return entry ? join(dirname(entry.configPath), "users.conf") : join(dir, edgeDomain(edge), "users.conf");
}

async function configLoadTime(monitorUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/varz`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { config_load_time?: string }).config_load_time;
  } catch {
    return undefined;
  }
}

/**
 * Make a running edge server reread its users (SIGHUP to the pid in its pid
 * file) and wait until it has. A stopped edge reads them when it starts.
 * Returns whether a running server was reloaded.
 */
export async function reloadEdgeUsers(topology: TopologyFile, edge: string, timeoutMs = 10_000): Promise<boolean> {
  const entry = edgeEntry(topology, edge);
  if (!entry) return false;
  const pidFile = join(dirname(entry.configPath), "nats.pid");
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  const before = await configLoadTime(entry.monitorUrl);
  if (!Number.isInteger(pid) || pid <= 0 || before === undefined) return false;
  try {
    process.kill(pid, "SIGHUP");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw new TopologyError(`cannot signal edge ${edge}'s nats-server (pid ${pid}) to reload: ${errorMessage(error)}`, { cause: error });
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = await configLoadTime(entry.monitorUrl);
    if (now !== undefined && now !== before) return true;
    await sleep(50);
  }
  throw new TopologyError(`edge ${edge}'s nats-server did not reload its users within ${timeoutMs} ms (see ${entry.logPath})`);
}

export interface AddDeviceResult {
  credentials: DeviceCredentials;
  path: string;
  /** False when the device already had credentials (they are kept). */
  created: boolean;
  /** True when a running edge server picked the device up at once. */
  reloaded: boolean;
}

/**
 * `tide device add`: issue credentials for `device` on `edge` (kept in
 * `<dir>/credentials.json`, handed out in `<dir>/devices/<edge>/<device>.json`),
 * regenerate the edge's users and reload its server if it runs. Adding a
 * device twice returns its existing credentials.
 */
export async function addDevice(dir: string, edge: string, device: string): Promise<AddDeviceResult> {
  if (!EdgeId.safeParse(edge).success) throw new ValidationError(`'${edge}' is not a valid edge id`);
  const parsed = DeviceId.safeParse(device);
  if (!parsed.success) throw new ValidationError(`'${device}' is not a valid device id: ${parsed.error.issues[0]?.message}`);
  const topology = existsSync(topologyPath(dir)) ? readTopology(dir) : undefined;
  if (topology && !edgeEntry(topology, edge)) throw new NotFoundError(`no edge '${edge}' in ${topologyPath(dir)} (edges: ${topology.edges.map((e) => e.id).join(", ")})`);

  const { credentials } = loadOrCreateCredentials(dir, [edge]);
  const devices = (credentials.devices[edge] ??= {});
  const created = devices[device] === undefined;
  const user = (devices[device] ??= { user: deviceUser(edge, device), password: newSecret() });
  if (created) {
    writeCredentials(credentialsPath(dir), credentials);
    const usersPath = edgeUsersPath(dir, topology, edge);
    if (existsSync(dirname(usersPath))) writeFileSync(usersPath, renderEdgeUsers(credentials, edge), { mode: 0o600 });
  }
  const entry = edgeEntry(topology, edge);
  const issued: DeviceCredentials = {
    edge,
    device,
    user: user.user,
    mqttUser: deviceMqttUser(edge, device),
    password: user.password,
    inboxPrefix: deviceInboxPrefix(edge, device),
    ...(entry ? { natsUrl: entry.clientUrl, mqttUrl: entry.mqttUrl } : {}),
    ingestSubject: `tide.ingest.${edge}.${device}`,
    commandSubject: `tide.command.${edge}.${device}`,
    ackSubject: `tide.ack.${edge}.${device}`,
  };
  const path = deviceCredentialsPath(dir, edge, device);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(issued, null, 2) + "\n", { mode: 0o600 });
  // Reload even when the device existed: a server started before it was added may not know it yet.
  const reloaded = topology ? await reloadEdgeUsers(topology, edge) : false;
  return { credentials: issued, path, created, reloaded };
}

/** The credentials of a device added before; NotFoundError if it was not. */
export function deviceCredentials(topology: TopologyFile, edge: string, device: string): DeviceCredentials {
  const user = readCredentials(topology.credentialsPath).devices[edge]?.[device];
  if (!user) throw new NotFoundError(`device '${device}' has no credentials on edge ${edge}: run \`tide device add --edge ${edge} ${device}\``);
  const entry = edgeEntry(topology, edge);
  return {
    edge,
    device,
    user: user.user,
    mqttUser: deviceMqttUser(edge, device),
    password: user.password,
    inboxPrefix: deviceInboxPrefix(edge, device),
    ...(entry ? { natsUrl: entry.clientUrl, mqttUrl: entry.mqttUrl } : {}),
    ingestSubject: `tide.ingest.${edge}.${device}`,
    commandSubject: `tide.command.${edge}.${device}`,
    ackSubject: `tide.ack.${edge}.${device}`,
  };
}
