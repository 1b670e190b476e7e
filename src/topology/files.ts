import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { EdgeId } from "../ids.ts";

/** `<dir>/topology.json`: how to reach every server of a running topology. */
export const TopologyFile = z.object({
  version: z.literal(1),
  dir: z.string(),
  host: z.string(),
  credentialsPath: z.string(),
  hub: z.object({
    name: z.literal("hub"),
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

/** `<dir>/credentials.json` (mode 0600): the passwords the servers were started with. */
export const Credentials = z.object({
  service: z.object({ user: z.string(), password: z.string() }),
  leaf: z.object({ user: z.string(), password: z.string() }),
});
export type Credentials = z.infer<typeof Credentials>;

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

/** The credentials of `dir`, generated on first use and kept, so restarts and later runs reuse them. */
export function loadOrCreateCredentials(dir: string): { path: string; credentials: Credentials } {
  const path = join(dir, "credentials.json");
  if (existsSync(path)) return { path, credentials: readCredentials(path) };
  const secret = () => randomBytes(18).toString("hex");
  const credentials: Credentials = { service: { user: "tide", password: secret() }, leaf: { user: "leaf", password: secret() } };
  writeFileSync(path, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  return { path, credentials };
}
