import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { connectAsGateway } from "../src/devices/index.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { readStream } from "../src/store/read-stream.ts";
import { startEdgeRuntime, type EdgeRuntime } from "../edge-runtime/runtime.ts";
import { startCloudServices, type CloudServices } from "../src/cloud/cloud-services.ts";
import { cloudReplicas } from "../src/topology/index.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";

process.env.TIDE_TF_BACKEND = "cpu";

const EDGE = "1";
let given: Awaited<ReturnType<typeof givenTopology>>;
let cloud: NatsConnection;
let devices: NatsConnection;
let edge: EdgeRuntime;
let services: CloudServices;

// The whole system on the clustered hub: the edge runtime (ingest, UPLINK, its followers of cloud streams) and the
// cloud services (projections, trainer, scheduler, rollout controller), all of which must carry on through a kill.
beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE], cluster: 3 });
  cloud = await given.connect(CLOUD_DOMAIN);
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: [EDGE], replicas: cloudReplicas(given.topology.file) } });
  services = await startCloudServices({ topology: given.topology.file, httpPort: 0 });
  edge = await startEdgeRuntime({ topology: given.topology.file, edge: EDGE, httpPort: 0, offloadAboveScore: Infinity });
  devices = await connectAsGateway(given.topology.file, EDGE);
}, 120_000);

afterAll(async () => {
  await devices?.close();
  // Not bounded: a follower that stalled after the failover would hang stop(), and that must fail the run.
  await edge?.stop();
  await services?.stop();
  await given?.cleanup();
});

/** Devices sending readings one after another (each waits for its ack), until stopped; what was acknowledged. */
function startLoad(deviceIds: readonly string[]) {
  const acked = new Set<string>();
  let stopped = false;
  const loops = deviceIds.map(async (device) => {
    for (let seq = 0; !stopped; seq++) {
      const body = JSON.stringify({ ts: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(), seq, temperature: 20 + (seq % 7), humidity: 40 });
      // Retried with the same ts/seq until stored: the event id is derived from them, so a retry is stored once.
      while (!stopped) {
        const reply = await devices
          .request(subjects.ingest(EDGE, device), body, { timeout: 5000 })
          .then((m) => m.json<IngestReply>())
          .catch(() => undefined);
        if (reply?.ok) {
          acked.add(reply.id);
          break;
        }
        await sleep(50);
      }
      // A steady load (about 50 readings/s per device), not a flood: the point is the failover, not throughput.
      await sleep(20);
    }
  });
  return {
    acked,
    async stop(): Promise<Set<string>> {
      stopped = true;
      await Promise.all(loops);
      return acked;
    },
  };
}

/** Event ids of the cloud READINGS, counting repeats; empty while the stream cannot be read (a failover under way). */
async function cloudReadingIds(): Promise<string[]> {
  const ids: string[] = [];
  const read = (async () => {
    for await (const stored of readStream(cloud, { stream: "READINGS", domain: CLOUD_DOMAIN, subject: `tide.reading.${EDGE}.>` })) ids.push(stored.event.metadata.id);
    return ids;
  })();
  const gaveUp = sleep(15_000).then(() => "timeout" as const);
  const outcome = await Promise.race([read, gaveUp]).catch((error: unknown) => `error: ${String(error)}`);
  if (Array.isArray(outcome)) return outcome;
  return [];
}

/** Which servers host the consumers on the cloud READINGS (each consumer's leader), with how many each. */
async function readingsConsumerHosts(): Promise<Map<string, number>> {
  const jsm = await cloud.jetstreamManager();
  const hosts = new Map<string, number>();
  for (const c of await jsm.consumers.list("READINGS").next()) {
    const host = c.cluster?.leader;
    if (host) hosts.set(host, (hosts.get(host) ?? 0) + 1);
  }
  return hosts;
}

/** READINGS' leader now; when it is not `server`, ask the leader to step down (the cluster elects another). */
async function leadReadingsFrom(server: string): Promise<string | undefined> {
  const jsm = await cloud.jetstreamManager();
  const leader = await jsm.streams.info("READINGS").then((i) => i.cluster?.leader, () => undefined);
  if (leader && leader !== server) await cloud.request(`$JS.${CLOUD_DOMAIN}.API.STREAM.LEADER.STEPDOWN.READINGS`, undefined, { timeout: 5000 }).catch(() => undefined);
  return leader;
}

describe("clustered hub (tide up --cluster 3)", () => {
  it("runs three hub servers in one JetStream cluster, with every cloud stream and bucket replicated three times", async () => {
    const file = given.topology.file;
    expect(file.hubCluster?.map((s) => s.name)).toEqual(["hub-1", "hub-2", "hub-3"]);
    const jsm = await cloud.jetstreamManager();
    const streams = await jsm.streams.list().next();
    expect(streams.map((s) => s.config.name)).toEqual(expect.arrayContaining(["READINGS", "MODELS", "TASKS", "OBJ_models"]));
    for (const info of streams) {
      expect(info.config.num_replicas, info.config.name).toBe(3);
      expect(info.cluster?.replicas?.length, info.config.name).toBe(2);
    }
  });

  it("killing the READINGS leader under load loses nothing and stores nothing twice; the killed server rejoins", async () => {
    const load = startLoad(["c1", "c2", "c3", "c4"]);
    await eventually(cloudReadingIds, (ids) => ids.length >= 40, 60_000, "readings flowing into the cloud");

    const jsm = await cloud.jetstreamManager();
    // The cloud projections read READINGS through ordered consumers: R1, each on one server. Kill the server that
    // hosts the most of them, after making it the stream's leader (stepping the leader down until it lands there),
    // so the kill takes the stream's leader and the consumers the projections read from at once.
    const hosts = await readingsConsumerHosts();
    const leader = [...hosts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    expect(leader).toMatch(/^hub-\d$/);
    await eventually(() => leadReadingsFrom(leader!), (l) => l === leader, 60_000, `${leader} leading READINGS`);
    await given.topology.killServer(leader!);
    const ackedAtKill = load.acked.size;

    // The remaining two keep a quorum: a new leader takes over and readings keep arriving.
    // Until a new leader is elected an API request may time out: that is an answer of "not yet".
    const leaderNow = () => jsm.streams.info("READINGS").then((i) => i.cluster?.leader, () => undefined);
    await eventually(leaderNow, (l) => l !== undefined && l !== leader, 60_000, "a new READINGS leader");
    await eventually(() => load.acked.size, (n) => n >= ackedAtKill + 200, 60_000, "readings acknowledged after the kill");
    const acked = await load.stop();

    const tally = async () => {
      const ids = await cloudReadingIds();
      const stored = new Set(ids);
      return { stored: ids.length, distinct: stored.size, missing: [...acked].filter((id) => !stored.has(id)).length, acked: acked.size };
    };
    const final = await eventually(tally, (t) => t.missing === 0, 90_000, "every acknowledged reading in the cloud");
    // Nothing lost, nothing twice, nothing that was not acknowledged.
    expect(final).toEqual({ stored: acked.size, distinct: acked.size, missing: 0, acked: acked.size });

    // The services carried on: every cloud projection reaches the end of its stream (READINGS among them, whose
    // consumers were on the killed server), and the edge's followers of cloud streams stop when asked (afterAll).
    const lagging = async () => {
      const rows = services.db.prepare("SELECT projection, stream, last_seq FROM tide_checkpoints").all() as { projection: string; stream: string; last_seq: number }[];
      const behind: string[] = [];
      for (const row of rows) {
        const last = await jsm.streams.info(row.stream).then((i) => i.state.last_seq, () => Number.POSITIVE_INFINITY);
        if (row.last_seq < last) behind.push(`${row.projection} at ${row.last_seq} of ${row.stream} ${last}`);
      }
      return { projections: rows.length, behind };
    };
    const caughtUp = await eventually(lagging, (l) => l.behind.length === 0, 90_000, "every cloud projection at the end of its stream");
    expect(caughtUp.projections).toBeGreaterThanOrEqual(3);
    const readings = (services.db.prepare("SELECT COUNT(*) AS n FROM tide_checkpoints WHERE stream = 'READINGS' AND last_seq >= ?").get(acked.size) as { n: number }).n;
    expect(readings).toBeGreaterThanOrEqual(1);

    // The killed server comes back and catches up.
    await given.topology.startServer(leader!);
    const allCurrent = () => jsm.streams.info("READINGS").then((i) => i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current), () => false);
    await eventually(allCurrent, (ok) => ok, 60_000, "all replicas current again");
  }, 300_000);
});
