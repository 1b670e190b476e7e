import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { EdgeId } from "../ids.ts";

/** One server of a clustered hub (`tide up --cluster 3`). */
const HubServerEntry = z.object({
  name: z.string(),
  clientUrl: z.string(),
  monitorUrl: z.string(),
  leafPort: z.number().int().positive(),
  storeDir: z.string(),
  configPath: z.string(),
  logPath: z.string(),
});
export type HubServerEntry = z.infer<typeof HubServerEntry>;

/** `<dir>/topology.json`: how to reach every server of a running topology. */
export const TopologyFile = z.object({
  version: z.literal(1),
  dir: z.string(),
  host: z.string(),
  credentialsPath: z.string(),
  /** The hub's servers when it is a cluster (the first is also `hub`); absent for a single hub. */
  hubCluster: z.array(HubServerEntry).optional(),
  hub: z.object({
    /** `hub`, or `hub-1` (the first server) of a cluster. */
    name: z.string(),
    domain: z.literal("cloud"),
    clientUrl: z.string(),
    monitorUrl: z.string(),
    leafPort: z.number().int().positive(),
    /** The cloud services' HTTP API (POST /train, dashboard, /metrics). */
    httpUrl: z.string(),
    storeDir: z.string(),
    configPath: z.string(),
    logPath: z.string(),
  }),
  edges: z.array(
    z.object({
      id: EdgeId,
      name: z.string(),
      domain: z.string(),
      clientUrl: z.string(),
      monitorUrl: z.string(),
      mqttUrl: z.string(),
      /** The edge runtime's HTTP API (POST /predict, /healthz). */
      httpUrl: z.string(),
      storeDir: z.string(),
      configPath: z.string(),
      logPath: z.string(),
    }),
  ),
});
export type TopologyFile = z.infer<typeof TopologyFile>;
export type EdgeEntry = TopologyFile["edges"][number];

const UserPassword = z.object({ user: z.string(), password: z.string() });
export type UserPassword = z.infer<typeof UserPassword>;

/** One edge's identities: its own service user (never the hub's), its leaf link user on the hub, its device gateway. */
const EdgeCredentials = z.object({ service: UserPassword, leaf: UserPassword, gateway: UserPassword });
export type EdgeCredentials = z.infer<typeof EdgeCredentials>;

/**
 * `<dir>/credentials.json` (mode 0600): every identity the servers know.
 * `service` is the hub's service user; each edge has its own (see
 * src/topology/auth.ts for what each may do); devices are issued by
 * `tide device add`.
 */
export const Credentials = z.object({
  service: UserPassword,
  /** Before per-edge leaf users; ignored. */
  leaf: UserPassword.optional(),
  edges: z.record(z.string(), EdgeCredentials).default({}),
  /** edge id -> device id -> the device's user. */
  devices: z.record(z.string(), z.record(z.string(), UserPassword)).default({}),
  /** The routes between the servers of a clustered hub. */
  hubRoutes: UserPassword.optional(),
});
export type Credentials = z.infer<typeof Credentials>;

/** Replicas of the cloud streams: 3 on a clustered hub (fewer if it has fewer servers), else 1. */
export function cloudReplicas(topology: TopologyFile): number {
  return Math.min(3, topology.hubCluster?.length ?? 1);
}

export function topologyPath(dir: string): string {
  return join(dir, "topology.json");
}

function readJson<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${what} ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** Read the topology a `tide up` (or a test) wrote into `dir`. */
export function readTopology(dir: string): TopologyFile {
  const path = topologyPath(dir);
  if (!existsSync(path)) throw new ConfigError(`no topology at ${path}: start one with \`tide up --dir ${dir}\``);
  return readJson(path, TopologyFile, "topology");
}

export function readCredentials(path: string): Credentials {
  return readJson(path, Credentials, "credentials");
}

export function newSecret(): string {
  return randomBytes(18).toString("hex");
}

export function credentialsPath(dir: string): string {
  return join(dir, "credentials.json");
}

export function writeCredentials(path: string, credentials: Credentials): void {
  writeFileSync(path, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
}

/**
 * The credentials of `dir`, generated on first use and kept, so restarts and
 * later runs reuse them; identities missing for `edges` are added.
 */
export function loadOrCreateCredentials(dir: string, edges: readonly string[] = [], options: { routes?: boolean } = {}): { path: string; credentials: Credentials } {
  const path = credentialsPath(dir);
  const credentials: Credentials = existsSync(path) ? readCredentials(path) : { service: { user: "tide", password: newSecret() }, edges: {}, devices: {} };
  let changed = !existsSync(path);
  if (options.routes && !credentials.hubRoutes) {
    credentials.hubRoutes = { user: "route", password: newSecret() };
    changed = true;
  }
  for (const edge of edges) {
    if (credentials.edges[edge]) continue;
    credentials.edges[edge] = {
      service: { user: "tide", password: newSecret() },
      leaf: { user: `leaf-${edge}`, password: newSecret() },
      gateway: { user: "gateway", password: newSecret() },
    };
    changed = true;
  }
  if (changed) writeCredentials(path, credentials);
  return { path, credentials };
}
