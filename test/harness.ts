import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsConnection } from "nats";
import { startFleet, type Fleet } from "../src/fleet.ts";
import { startTopology, connectTo, type Topology, type TopologyOptions } from "../src/topology/index.ts";

/** A fresh state directory under the OS temp dir. */
export function tempDir(prefix = "tide-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Start a topology on free ports in a fresh directory; `cleanup()` stops it and removes the directory. */
export async function givenTopology(options: Omit<TopologyOptions, "ports" | "dir"> = {}) {
  const dir = tempDir();
  const topology: Topology = await startTopology({ ...options, dir, ports: "free" });
  const connections: NatsConnection[] = [];
  return {
    dir,
    topology,
    /** A connection to `cloud` or an edge id, closed by cleanup. */
    async connect(place: string): Promise<NatsConnection> {
      const nc = await connectTo(topology.file, place, { maxReconnectAttempts: -1 });
      connections.push(nc);
      return nc;
    },
    async cleanup(): Promise<void> {
      await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
      await topology.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A whole fleet (servers, streams, ingest, projections) on free ports in a fresh directory. */
export async function givenFleet(options: Omit<Parameters<typeof startFleet>[0], "ports" | "dir"> = {}) {
  const dir = tempDir();
  // Without a policy every reading is forwarded raw and no distribution stats land in the cloud READINGS,
  // so tests can count exactly what they sent; tests of the policy opt in with `policies: true`.
  const fleet: Fleet = await startFleet({ policies: false, ...options, dir, ports: "free" });
  const connections: NatsConnection[] = [];
  return {
    dir,
    fleet,
    async connect(place: string): Promise<NatsConnection> {
      const nc = await connectTo(fleet.topology.file, place);
      connections.push(nc);
      return nc;
    },
    async cleanup(): Promise<void> {
      await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
      await fleet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Poll `probe` until it returns a value that satisfies `done`, or fail with
 * the last value after `timeoutMs`. A probe that throws is tried again (a
 * server restarting answers a request with a timeout or "no responders" for
 * a moment); if the last try threw, that error is what the failure says.
 */
export async function eventually<T>(probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: await probe() };
    } catch (error) {
      outcome = { error };
    }
    if ("value" in outcome && done(outcome.value)) return outcome.value;
    if (Date.now() > deadline) {
      if ("error" in outcome) {
        throw new Error(`${what} not reached after ${timeoutMs} ms; the last try failed: ${outcome.error instanceof Error ? outcome.error.message : String(outcome.error)}`, { cause: outcome.error });
      }
      throw new Error(`${what} not reached after ${timeoutMs} ms; last value: ${JSON.stringify(outcome.value)}`);
    }
    await sleep(100);
  }
}

/** Messages in a stream of a domain. */
export async function streamMessages(nc: NatsConnection, domain: string, stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager({ domain });
  return (await jsm.streams.info(stream)).state.messages;
}
