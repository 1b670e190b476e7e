import { connect, type NatsConnection } from "nats";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEvent } from "../src/events/envelope.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { subjects } from "../src/events/subjects.ts";
import { edgeDomain } from "../src/ids.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { connectTo, readTopology, startTopology } from "../src/topology/index.ts";
import { edgeReadings } from "../streams/edge/readings.ts";
import { applyStreams } from "../streams/apply.ts";
import { givenTopology, tempDir } from "./harness.ts";

type Given = Awaited<ReturnType<typeof givenTopology>>;

let given: Given;

beforeAll(async () => {
  given = await givenTopology({ edges: 2 });
});

afterAll(async () => {
  await given?.cleanup();
});

async function monitor<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
  expect(res.ok, `${url}${path} answered ${res.status}`).toBe(true);
  return (await res.json()) as T;
}

/** A reading stored on `edge`'s READINGS (created if needed); returns its seq and id. */
async function storeReading(nc: NatsConnection, edge: string, device: string): Promise<{ seq: number; id: string }> {
  await applyStreams({ nc, place: "edge", domain: edgeDomain(edge), context: { edge, edges: [edge] }, only: [edgeReadings] });
  const event = createEvent(
    { type: readingRecorded.type, data: { edge, device, ts: new Date().toISOString(), temperature: 21.5, humidity: 40 } },
    { source: `tide://test/${device}` },
  );
  const result = await appendToStream(nc.jetstream({ domain: edgeDomain(edge) }), subjects.reading(edge, device), event);
  expect(result.duplicate).toBe(false);
  return { seq: result.seq, id: event.metadata.id };
}

/** The ce-id of the message at `seq` of `edge`'s READINGS, read on a fresh connection. */
async function storedId(edge: string, seq: number): Promise<string> {
  const nc = await given.connect(edge);
  try {
    const jsm = await nc.jetstreamManager({ domain: edgeDomain(edge) });
    const msg = await jsm.streams.getMessage("READINGS", { seq });
    return msg.header.get("ce-id");
  } finally {
    await nc.close();
  }
}

describe("topology", () => {
  it("writes a valid topology.json for the hub and both edges", () => {
    const file = readTopology(given.dir);
    expect(file).toEqual(given.topology.file);
    expect(file.hub.domain).toBe("cloud");
    expect(file.edges.map((e) => [e.id, e.domain, e.name])).toEqual([
      ["1", "edge-1", "edge-1"],
      ["2", "edge-2", "edge-2"],
    ]);
    const urls = [file.hub.clientUrl, ...file.edges.map((e) => e.clientUrl)];
    expect(new Set(urls).size).toBe(3);
  });

  it("has every server running and healthy", async () => {
    const file = given.topology.file;
    expect([...given.topology.servers.keys()].sort()).toEqual(["edge-1", "edge-2", "hub"]);
    for (const server of given.topology.servers.values()) expect(server.running).toBe(true);
    for (const url of [file.hub.monitorUrl, ...file.edges.map((e) => e.monitorUrl)]) {
      const health = await monitor<{ status: string }>(url, "/healthz?js-enabled=true");
      expect(health.status).toBe("ok");
    }
  });

  it("gives the hub the JetStream domain `cloud` and each edge `edge-<id>`", async () => {
    const file = given.topology.file;
    const hubJsz = await monitor<{ config?: { domain?: string } }>(file.hub.monitorUrl, "/jsz");
    expect(hubJsz.config?.domain).toBe("cloud");
    for (const edge of file.edges) {
      const jsz = await monitor<{ config?: { domain?: string } }>(edge.monitorUrl, "/jsz");
      expect(jsz.config?.domain).toBe(`edge-${edge.id}`);
    }

    // Each place's own JetStream answers with its domain, and the hub reaches each edge's through its domain prefix.
    const hub = await given.connect("cloud");
    expect((await (await hub.jetstreamManager()).getAccountInfo()).domain).toBe("cloud");
    for (const edge of file.edges) {
      const nc = await given.connect(edge.id);
      expect((await (await nc.jetstreamManager()).getAccountInfo()).domain).toBe(`edge-${edge.id}`);
      expect((await (await hub.jetstreamManager({ domain: `edge-${edge.id}` })).getAccountInfo()).domain).toBe(`edge-${edge.id}`);
    }
  });

  it("links each edge to the hub as a leaf node", async () => {
    const file = given.topology.file;
    for (const edge of file.edges) {
      const leafz = await monitor<{ leafnodes: number; leafs: { account: string }[] }>(edge.monitorUrl, "/leafz");
      expect(leafz.leafnodes).toBe(1);
      expect(leafz.leafs[0]?.account).toBe("TIDE");
    }
    const hubLeafz = await monitor<{ leafnodes: number }>(file.hub.monitorUrl, "/leafz");
    expect(hubLeafz.leafnodes).toBe(2);
  });

  it("stops and starts an edge, keeping its store", async () => {
    const nc = await given.connect("2");
    const before = await storeReading(nc, "2", "restart-probe");
    await nc.close();

    const server = given.topology.server("edge-2");
    const oldPid = server.pid;
    await given.topology.stopServer("edge-2");
    expect(server.running).toBe(false);
    await expect(fetch(`${given.topology.file.edges[1]!.monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();

    await given.topology.startServer("edge-2");
    expect(server.running).toBe(true);
    expect(server.pid).not.toBe(oldPid);
    const leafz = await monitor<{ leafnodes: number }>(given.topology.file.edges[1]!.monitorUrl, "/leafz");
    expect(leafz.leafnodes).toBe(1);
    expect(await storedId("2", before.seq)).toBe(before.id);
  });

  it("keeps acknowledged messages when an edge is killed (SIGKILL) and restarted", async () => {
    const nc = await given.connect("1");
    const stored = [];
    for (let i = 0; i < 20; i++) stored.push(await storeReading(nc, "1", `crash-probe-${i}`));
    await given.topology.killServer("edge-1");
    await nc.close();
    expect(given.topology.server("edge-1").running).toBe(false);

    await given.topology.startServer("edge-1");
    expect(given.topology.server("edge-1").running).toBe(true);
    for (const { seq, id } of stored) expect(await storedId("1", seq)).toBe(id);
  });

  it("refuses clients without credentials or with a wrong password: no open global account", async () => {
    const file = given.topology.file;
    for (const url of [file.hub.clientUrl, ...file.edges.map((e) => e.clientUrl)]) {
      await expect(connect({ servers: url, reconnect: false })).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
      await expect(connect({ servers: url, reconnect: false, user: "tide", pass: "not-the-password" })).rejects.toMatchObject({
        code: "AUTHORIZATION_VIOLATION",
      });
    }
    // Control: the service credentials of the topology are accepted.
    const service = await given.connect("cloud");
    expect(service.isClosed()).toBe(false);
  });
});

describe("credentials that look like numbers", () => {
  // nats-server reads a $VAR's value as a config value: before the fix, a generated
  // hex password such as 8e3f... parsed as a number and the hub would not start.
  it("starts the hub with passwords nats-server could mistake for numbers", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "credentials.json"),
      JSON.stringify({
        service: { user: "tide", password: "8e3f1a2b" },
        edges: { "1": { service: { user: "tide", password: "12345" }, leaf: { user: "leaf-1", password: "1e10" }, gateway: { user: "gateway", password: "0x1f" } } },
      }),
      { mode: 0o600 },
    );
    const topology = await startTopology({ dir, edges: 1, ports: "free" });
    try {
      const nc = await connectTo(topology.file, "cloud", { maxReconnectAttempts: 0 });
      expect((await (await nc.jetstreamManager()).getAccountInfo()).domain).toBe("cloud");
      await nc.close();
      const leafz = await monitor<{ leafnodes: number }>(topology.file.hub.monitorUrl, "/leafz");
      expect(leafz.leafnodes).toBe(1);
    } finally {
      await topology.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
