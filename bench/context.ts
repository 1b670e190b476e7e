import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { connectTo, startTopology, type Topology } from "../src/topology/index.ts";
import { applyStreams } from "../streams/apply.ts";
import type { StreamDefinition } from "../streams/index.ts";
import type { RssRecorder } from "./rss.ts";

/** How big a run is: `full` for the figures, `quick` for a smoke check. */
export interface BenchSizes {
  quick: boolean;
  /** Messages per side per ingest run. */
  ingest: number;
  /** Readings in the stream a projection is built from. */
  projection: number;
  /** Events in the stream replayed. */
  replay: number;
  /** Readings forwarded edge -> cloud. */
  forward: number;
  /** Measured runs per side (the best counts). */
  runs: number;
  /** Seconds per edge rate point (ramp steps and the HTTP run take half). */
  edgeSeconds: number;
}

export const SIZES = {
  // 5 runs per side: on a shared 2-core machine a side's best of 3 still moved by ±10% from run to run.
  full: { quick: false, ingest: 100_000, projection: 100_000, replay: 100_000, forward: 100_000, runs: 5, edgeSeconds: 8 },
  quick: { quick: true, ingest: 10_000, projection: 10_000, replay: 10_000, forward: 10_000, runs: 1, edgeSeconds: 2 },
} as const satisfies Record<string, BenchSizes>;

export interface BenchContext {
  sizes: BenchSizes;
  rss: RssRecorder;
  /** A progress line on stderr. */
  progress(message: string): void;
}

/** What a benchmark gets: a running topology with one edge (`1`) and its streams applied. */
export interface BenchTopology {
  topology: Topology;
  dir: string;
  edge: string;
  edgeDomain: string;
  /** A new connection to `cloud` or the edge, closed when the benchmark ends. */
  connect(place: string): Promise<NatsConnection>;
}

export interface TopologySetup {
  /** Edge streams to apply (default: the whole edge catalogue). */
  edgeStreams?: readonly StreamDefinition[];
  /** Apply the cloud catalogue too (READINGS sourcing the edge's UPLINK). */
  cloud?: boolean;
}

/**
 * Run `work` against a fresh hub + one edge on free ports in a temp dir; sample
 * the servers' peak RSS, stop them and remove the dir afterwards.
 */
export async function withTopology<T>(ctx: BenchContext, setup: TopologySetup, work: (t: BenchTopology) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "tide-bench-"));
  const edge = "1";
  const connections: NatsConnection[] = [];
  let topology: Topology;
  try {
    topology = await startTopology({ dir, ports: "free", edges: [edge] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  try {
    const connect = async (place: string) => {
      const nc = await connectTo(topology.file, place, { name: `tide-bench-${place}` });
      connections.push(nc);
      return nc;
    };
    const admin = await connect(edge);
    const context = { edge, edges: [edge] };
    await applyStreams({ nc: admin, place: "edge", domain: edgeDomain(edge), context, ...(setup.edgeStreams ? { only: setup.edgeStreams } : {}) });
    if (setup.cloud) await applyStreams({ nc: await connect(CLOUD_DOMAIN), place: "cloud", domain: CLOUD_DOMAIN, context });
    return await work({ topology, dir, edge, edgeDomain: edgeDomain(edge), connect });
  } finally {
    ctx.rss.sample(topology);
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await topology.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
