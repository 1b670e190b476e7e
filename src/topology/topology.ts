import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TopologyError, errorMessage } from "../errors.ts";
import { EdgeId, edgeDomain } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { renderEdgeUsers } from "./auth.ts";
import { ensureCertificates } from "./certs.ts";
import { renderEdgeConfig } from "./edge-config.ts";
import { loadOrCreateCredentials, topologyPath, type Credentials, type TopologyFile } from "./files.ts";
import { freePorts, STANDARD_PORTS } from "./ports.ts";
import { planHub, type HubServerPorts } from "./hub.ts";
import { NatsServerProcess } from "./server.ts";

export interface TopologyOptions {
  /** State directory: stores, configs, logs, topology.json (default `.tide`). */
  dir?: string;
  /** Edge ids, or a count (ids `1`..`N`). */
  edges?: number | readonly string[];
  /** `standard` = NATS's usual ports (tide up); `free` = OS-chosen ports (tests). */
  ports?: "standard" | "free";
  host?: string;
  logger?: Logger;
  /** Hub servers: 1 (default) or a JetStream cluster of N (`tide up --cluster 3`), whose cloud streams are replicated. */
  cluster?: number;
}

/** A running hub and its edge leaf nodes. */
export interface Topology {
  readonly file: TopologyFile;
  readonly credentials: Credentials;
  /** Server names: `hub` (or `hub-1`.. in a cluster), `edge-<id>`. */
  readonly servers: ReadonlyMap<string, NatsServerProcess>;
  server(name: string): NatsServerProcess;
  /** Stop one server gracefully (its store stays). */
  stopServer(name: string): Promise<void>;
  /** SIGKILL one server. */
  killServer(name: string): Promise<void>;
  /** Start a stopped server again; waits until healthy and, for an edge, until its leaf link is up. */
  startServer(name: string): Promise<void>;
  /** Wait until each edge (default all) has its leaf link to the hub up. */
  waitForLeafLinks(edges?: readonly string[], timeoutMs?: number): Promise<void>;
  /** Stop every server, edges first. */
  stop(): Promise<void>;
}

function edgeIds(edges: TopologyOptions["edges"]): string[] {
  const ids = typeof edges === "number" || edges === undefined ? Array.from({ length: edges ?? 2 }, (_, i) => String(i + 1)) : [...edges];
  for (const id of ids) {
    const parsed = EdgeId.safeParse(id);
    if (!parsed.success) throw new TopologyError(`bad edge id '${id}': ${parsed.error.issues[0]?.message}`);
  }
  if (new Set(ids).size !== ids.length) throw new TopologyError(`edge ids must be distinct: ${ids.join(", ")}`);
  return ids;
}

async function leafCount(monitorUrl: string): Promise<number> {
  try {
    const res = await fetch(`${monitorUrl}/leafz`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return 0;
    const body = (await res.json()) as { leafnodes?: number };
    return body.leafnodes ?? 0;
  } catch {
    return 0;
  }
}

/**
 * Start the hub from `nats-server.conf` and one leaf node per edge from
 * `edge-runtime/leaf.conf.template`, each with its own JetStream domain and
 * store under `dir`; wait until every JetStream is ready and every leaf link is
 * up; write `<dir>/topology.json`.
 */
export async function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchTopology(options);
    } catch (error) {
      // With OS-chosen ports another process may bind one between our choice and the server's bind: choose again.
      if (options.ports !== "free" || attempt >= 5 || !/address already in use/.test(errorMessage(error))) throw error;
      options.logger?.warn({ attempt, err: errorMessage(error) }, "a chosen port was taken meanwhile; retrying with new ports");
    }
  }
}

async function launchTopology(options: TopologyOptions): Promise<Topology> {
  const { ports = "standard", host = "127.0.0.1", logger = silentLogger } = options;
  const dir = resolve(options.dir ?? ".tide");
  const ids = edgeIds(options.edges);
  mkdirSync(dir, { recursive: true });
  if (options.cluster !== undefined && (!Number.isInteger(options.cluster) || options.cluster < 1 || options.cluster > 7)) {
    throw new TopologyError(`a hub cluster has 1 to 7 servers, not ${options.cluster}`);
  }
  const { path: credentialsPath, credentials } = loadOrCreateCredentials(dir, ids, { routes: (options.cluster ?? 1) > 1 });
  // Secure by default: the leaf links are TLS with certificates made on first use (`tide certs` makes them ahead).
  const certs = ensureCertificates(dir, { edges: ids, hubHosts: [host] }).paths;

  const hubSize = options.cluster ?? 1;
  const pool = ports === "free" ? await freePorts(4 * hubSize + 1 + 4 * ids.length, host) : [];
  const port = async (standard: number) => (ports === "standard" ? standard : pool.shift()!);
  const hubPorts: HubServerPorts[] = [];
  for (let i = 0; i < hubSize; i++) {
    const standard = STANDARD_PORTS.hubServer(i);
    hubPorts.push({ client: await port(standard.client), monitor: await port(standard.monitor), leaf: await port(standard.leaf), cluster: await port(standard.cluster) });
  }
  const httpPort = await port(STANDARD_PORTS.hub.http);
  const hubServers = planHub({ dir, host, ports: hubPorts, credentials, edges: ids, certs, logger });
  const first = hubServers[0]!.entry;
  const hubEntry: TopologyFile["hub"] = { ...first, domain: "cloud", httpUrl: `http://${host}:${httpPort}` };
  const servers = new Map<string, NatsServerProcess>(hubServers.map(({ entry, server }) => [entry.name, server]));
  const hubNames = hubServers.map(({ entry }) => entry.name);

  const edges: TopologyFile["edges"] = [];
  for (const [index, id] of ids.entries()) {
    const standard = STANDARD_PORTS.edge(index);
    const edgePorts = { client: await port(standard.client), monitor: await port(standard.monitor), mqtt: await port(standard.mqtt), http: await port(standard.http) };
    const name = edgeDomain(id);
    const edgeDir = join(dir, name);
    mkdirSync(edgeDir, { recursive: true });
    const entry = {
      id,
      name,
      domain: name,
      clientUrl: `nats://${host}:${edgePorts.client}`,
      monitorUrl: `http://${host}:${edgePorts.monitor}`,
      mqttUrl: `mqtt://${host}:${edgePorts.mqtt}`,
      httpUrl: `http://${host}:${edgePorts.http}`,
      storeDir: join(edgeDir, "store"),
      configPath: join(edgeDir, "nats.conf"),
      logPath: join(edgeDir, "server.log"),
    };
    writeFileSync(
      entry.configPath,
      renderEdgeConfig({
        edgeId: id,
        host,
        clientPort: edgePorts.client,
        monitorPort: edgePorts.monitor,
        mqttPort: edgePorts.mqtt,
        storeDir: entry.storeDir,
        pidFile: join(edgeDir, "nats.pid"),
        leafUser: credentials.edges[id]!.leaf.user,
        leafPassword: credentials.edges[id]!.leaf.password,
        leafTls: { ...certs.edge(id), ca: certs.ca },
        hubHost: host,
        hubLeafPorts: hubPorts.map((p) => p.leaf),
      }),
      { mode: 0o600 },
    );
    writeFileSync(join(edgeDir, "users.conf"), renderEdgeUsers(credentials, id), { mode: 0o600 });
    edges.push(entry);
    servers.set(name, new NatsServerProcess({ name, configPath: entry.configPath, monitorUrl: entry.monitorUrl, logPath: entry.logPath }, logger));
  }

  const file: TopologyFile = { version: 1, dir, host, credentialsPath, ...(hubSize > 1 ? { hubCluster: hubServers.map(({ entry }) => entry) } : {}), hub: hubEntry, edges };

  const server = (name: string) => {
    const s = servers.get(name);
    if (!s) throw new TopologyError(`no server '${name}' in this topology (have: ${[...servers.keys()].join(", ")})`);
    return s;
  };

  const waitForLeafLinks = async (which: readonly string[] = ids, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (const id of which) {
      const entry = edges.find((e) => e.id === id);
      if (!entry) throw new TopologyError(`no edge '${id}'`);
      while ((await leafCount(entry.monitorUrl)) < 1) {
        if (Date.now() > deadline) throw new TopologyError(`leaf link of edge ${id} not up after ${timeoutMs} ms (see ${entry.logPath})`);
        await sleep(50);
      }
    }
  };

  const stop = async () => {
    for (const name of [...servers.keys()].reverse()) await servers.get(name)!.stop();
  };

  try {
    // A cluster's servers start together: JetStream is healthy only once they have a quorum.
    await Promise.all(hubNames.map((name) => server(name).start()));
    await Promise.all(edges.map((e) => server(e.name).start()));
    await waitForLeafLinks();
  } catch (error) {
    await stop();
    throw error;
  }
  writeFileSync(topologyPath(dir), JSON.stringify(file, null, 2) + "\n");
  logger.info({ dir, hub: hubEntry.clientUrl, edges: edges.map((e) => `${e.id}@${e.clientUrl}`) }, "topology up");

  return {
    file,
    credentials,
    servers,
    server,
    stopServer: (name) => server(name).stop(),
    killServer: (name) => server(name).kill(),
    startServer: async (name) => {
      await server(name).start();
      if (hubNames.includes(name)) await waitForLeafLinks();
      else {
        const edge = edges.find((e) => e.name === name);
        if (edge && hubNames.some((hub) => server(hub).running)) await waitForLeafLinks([edge.id]);
      }
    },
    waitForLeafLinks,
    stop,
  };
}
