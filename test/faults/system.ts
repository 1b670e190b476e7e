import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import type { TrainingConfigInput } from "../../src/training/config.ts";
import { trainingConfigPath } from "../../src/training/config.ts";
import { edgeDomain } from "../../src/ids.ts";
import { eventually, givenTopology } from "../harness.ts";
import { PROJECT_ROOT as ROOT } from "../../src/paths.ts";
import { TIDE, TIDE_NODE_FLAGS } from "../tide-command.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

/** A Tide process (`tide edge`, `tide cloud`) run as a supervisor would: its own process, restarted only when it dies. */
export interface TideProcess {
  readonly args: readonly string[];
  child: ChildProcess;
  /** stdout and the tail of stderr, for failure messages. */
  output(): string;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** Start it again with the same arguments (after it died). */
  restart(): void;
}

function spawnTide(args: readonly string[]): TideProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TIDE_LOG_LEVEL: "warn", TIDE_TF_BACKEND: process.env.TIDE_TF_BACKEND ?? "cpu" };
  delete env.TIDE_DIR;
  let out = "";
  const start = () => {
    const child = spawn(process.execPath, [...TIDE_NODE_FLAGS, TIDE, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-8000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    return child;
  };
  const proc: TideProcess = {
    args,
    child: start(),
    output: () => out,
    get running() {
      return proc.child.exitCode === null && proc.child.signalCode === null;
    },
    get pid() {
      return proc.running ? proc.child.pid : undefined;
    },
    restart() {
      out = "";
      proc.child = start();
    },
  };
  return proc;
}

async function killProcess(proc: TideProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (!proc.running) return;
  const gone = new Promise<void>((resolve) => proc.child.once("exit", () => resolve()));
  proc.child.kill(signal);
  await gone;
}

export interface FaultSystemOptions {
  edges?: readonly string[];
  /** Put a TCP proxy on each edge's leaf link, so the test can cut it (default false). */
  cuttable?: boolean;
  /** Run `tide cloud` (default true). */
  cloud?: boolean;
  training?: TrainingConfigInput;
}

/** Every reading forwarded raw, never degraded: the fault suite checks that every acked reading reaches the cloud. */
const RAW_POLICY = { version: 1, default: { name: "all", route: "raw" } };

/** No training unless a test asks for it: a scheduled run would only compete for the CPU. */
const QUIET_TRAINING: TrainingConfigInput = { schedule: { everyMinutes: 0, everyReadings: 0 }, drift: { enabled: false } };

/**
 * A whole Tide system as it runs in production, for fault injection: the hub
 * and edge nats-servers, each edge runtime as its own `tide edge` process and
 * the cloud services as a `tide cloud` process, optionally with a cuttable
 * proxy on every leaf link. The test plays the supervisor: it restarts a
 * process only after killing it.
 */
export async function givenFaultSystem(options: FaultSystemOptions = {}) {
  const { edges = ["1"], cuttable = false, cloud: withCloud = true } = options;
  const given = await givenTopology({ edges });
  const { topology, dir } = given;
  const proxies = new Map<string, TcpProxy>();
  const processes = new Map<string, TideProcess>();
  try {
    if (cuttable) await insertLeafProxies();
    writeFileSync(trainingConfigPath(dir), JSON.stringify(options.training ?? QUIET_TRAINING));
    const policy = join(dir, "raw-policy.json");
    writeFileSync(policy, JSON.stringify(RAW_POLICY));
    // Edges first: the cloud READINGS sources their UPLINKs.
    for (const id of edges) {
      processes.set(`edge-runtime-${id}`, spawnTide(["edge", "--id", id, "--dir", dir, "--policy", policy]));
      await ready(`edge-runtime-${id}`);
    }
    if (withCloud) {
      processes.set("cloud", spawnTide(["cloud", "--dir", dir]));
      await ready("cloud");
    }
  } catch (error) {
    await cleanup();
    throw error;
  }

  /**
   * Put a proxy on each edge's leaf link. The hub advertises its leaf URL to
   * leaf nodes, which reconnect to it directly when their configured URL fails
   * — so the hub must advertise the proxy (one edge per cuttable topology).
   */
  async function insertLeafProxies(): Promise<void> {
    if (edges.length !== 1) throw new Error("a cuttable system has one edge (the hub advertises one leaf URL)");
    const edge = topology.file.edges[0]!;
    const proxy = await startTcpProxy({ host: topology.file.host, port: topology.file.hub.leafPort });
    proxies.set(edge.id, proxy);
    await topology.stopServer(edge.name);
    await topology.stopServer("hub");
    const hub = topology.server("hub");
    const derived = join(dir, "hub", "nats-server.proxied.conf");
    const conf = readFileSync(hub.spec.configPath, "utf8");
    if (!/\nleafnodes \{/.test(conf)) throw new Error(`no leafnodes block in ${hub.spec.configPath}`);
    writeFileSync(derived, conf.replace(/\nleafnodes \{/, `\nleafnodes {\n  advertise: "${topology.file.host}:${proxy.port}"`));
    hub.spec.configPath = derived;
    const edgeConf = readFileSync(edge.configPath, "utf8");
    const hubLeaf = `${topology.file.host}:${topology.file.hub.leafPort}`;
    if (!edgeConf.includes(hubLeaf)) throw new Error(`edge config ${edge.configPath} does not name the hub leaf port ${hubLeaf}`);
    writeFileSync(edge.configPath, edgeConf.split(hubLeaf).join(`${topology.file.host}:${proxy.port}`), { mode: 0o600 });
    await hub.start(); // not startServer: that waits for the leaf link of an edge that is still stopped
    await topology.startServer(edge.name);
    await topology.waitForLeafLinks();
  }

  async function ready(name: string): Promise<void> {
    const proc = processes.get(name)!;
    const marker = name === "cloud" ? "cloud services up" : "runtime up";
    await eventually(
      () => ({ out: proc.output(), running: proc.running }),
      (s) => s.out.includes(marker) || !s.running,
      90_000,
      `${name} up`,
    );
    if (!proc.running) throw new Error(`${name} exited at start:\n${proc.output()}`);
  }

  async function cleanup(): Promise<void> {
    for (const proc of processes.values()) await killProcess(proc, "SIGTERM");
    for (const proxy of proxies.values()) await proxy.close();
    await given.cleanup();
  }

  return {
    dir,
    topology,
    file: topology.file,
    connect: (place: string): Promise<NatsConnection> => given.connect(place),
    process: (name: string): TideProcess => {
      const proc = processes.get(name);
      if (!proc) throw new Error(`no process ${name}`);
      return proc;
    },
    /** SIGKILL a Tide process (no shutdown). */
    kill: (name: string) => killProcess(processes.get(name)!),
    /** What a supervisor does when a process died: start it again with the same arguments, and wait until it is up. */
    async restart(name: string): Promise<void> {
      const proc = processes.get(name)!;
      if (proc.running) throw new Error(`${name} is running: a supervisor restarts only what died`);
      proc.restart();
      await ready(name);
    },
    proxy: (edge: string): TcpProxy => {
      const proxy = proxies.get(edge);
      if (!proxy) throw new Error(`edge ${edge} has no leaf proxy (cuttable: true)`);
      return proxy;
    },
    /** Process ids of every server and Tide process now: a fault may change only the one it hit. */
    pids(): Record<string, number | undefined> {
      const out: Record<string, number | undefined> = {};
      for (const [name, server] of topology.servers) out[name] = server.pid;
      for (const [name, proc] of processes) out[name] = proc.pid;
      return out;
    },
    edgeDbPath: (edge: string) => join(dir, edgeDomain(edge), "projections.db"),
    cloudDbPath: () => join(dir, "hub", "projections.db"),
    cleanup,
  };
}
export type FaultSystem = Awaited<ReturnType<typeof givenFaultSystem>>;
