import type { Msg, NatsConnection, StoredMsg, Subscription } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent, createEvent } from "../src/events/envelope.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { subjects } from "../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { readMessages } from "../src/store/read-stream.ts";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { eventually, givenFleet, streamMessages } from "./harness.ts";
import { PROBE_DOWN, PROBE_UP } from "../src/topology/auth.ts";
import { isNoMessage } from "../src/store/api-errors.ts";

type Given = Awaited<ReturnType<typeof givenFleet>>;

let given: Given;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

beforeAll(async () => {
  given = await givenFleet({ edges: 2 });
});

afterAll(async () => {
  await given?.cleanup();
});

/** Send a reading the way a device does: request/reply on the edge's ingest subject. */
async function sendReading(nc: NatsConnection, edge: string, device: string, ts: Date, temperature = 21, humidity = 45): Promise<IngestReply> {
  const payload = { ts: ts.toISOString(), temperature, humidity };
  const reply = await nc.request(subjects.ingest(edge, device), encoder.encode(JSON.stringify(payload)), { timeout: 10_000 });
  return JSON.parse(decoder.decode(reply.data)) as IngestReply;
}

async function lastOnSubject(nc: NatsConnection, domain: string, stream: string, subject: string): Promise<StoredMsg | undefined> {
  const jsm = await nc.jetstreamManager({ domain });
  return jsm.streams.getMessage(stream, { last_by_subj: subject }).catch((error: unknown) => {
    if (isNoMessage(error)) return undefined;
    throw error;
  });
}

/** Collects every core message of a subscription. */
function record(nc: NatsConnection, subject: string): { sub: Subscription; seen: Msg[] } {
  const seen: Msg[] = [];
  const sub = nc.subscribe(subject, { callback: (_error, msg) => void seen.push(msg) });
  return { sub, seen };
}

/**
 * Prove the leaf links carry core traffic right now: publish each probe (an
 * edge's up to the hub, the hub's down to the edges: the only probe paths the
 * hub's accounts have) until its listener saw it. Used before and after a
 * "nothing arrived" check, so that check cannot pass merely because interest
 * had not propagated yet.
 */
async function probeUntilSeen(probes: Array<{ from: NatsConnection; subject: string; listener: { seen: Msg[] } }>): Promise<void> {
  await eventually(
    async () => {
      for (const { from, subject } of probes) {
        from.publish(subject, encoder.encode(subject));
        await from.flush();
      }
      return probes.every(({ subject, listener }) => listener.seen.some((m) => m.subject === subject));
    },
    (ok) => ok,
    15_000,
    `probes ${probes.map((p) => p.subject).join(", ")} seen`,
  );
}
const up = (edge: string, tag: string) => `${PROBE_UP}.${edgeDomain(edge)}.${tag}`;
const down = (tag: string) => `${PROBE_DOWN}.${tag}`;

const isRawDeviceSubject = (subject: string) => /^tide\.(ingest|reading)\./.test(subject);

describe("event flow across the fleet", () => {
  it("stores a reading on its edge, acknowledges it, forwards it to the cloud with its envelope, and never shows it to another edge", async () => {
    const edge1 = await given.connect("1");
    const edge2 = await given.connect("2");
    const hub = await given.connect("cloud");
    const device = "flow-dev-a";
    const onEdge2 = record(edge2, "tide.>");
    const onHub = record(hub, "tide.>");
    await probeUntilSeen([
      { from: edge1, subject: up("1", "before-a"), listener: onHub },
      { from: hub, subject: down("before-a"), listener: onEdge2 },
    ]);

    const reply = await sendReading(edge1, "1", device, new Date(), 22.5, 41);
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.duplicate).toBe(false);

    // Acknowledged only after storage: the reply's seq is in edge 1's READINGS right away.
    const jsm1 = await edge1.jetstreamManager({ domain: edgeDomain("1") });
    const edgeCopy = await jsm1.streams.getMessage("READINGS", { seq: reply.seq });
    const subject = subjects.reading("1", device);
    expect(edgeCopy.subject).toBe(subject);
    expect(edgeCopy.subject).toBe(`tide.reading.1.${device}.up`);
    expect(edgeCopy.header.get("ce-id")).toBe(reply.id);
    expect(JSON.parse(decoder.decode(edgeCopy.data))).toMatchObject({ edge: "1", device, temperature: 22.5, humidity: 41 });

    const cloudCopy = await eventually(
      () => lastOnSubject(hub, CLOUD_DOMAIN, "READINGS", subject),
      (msg) => msg !== undefined,
      20_000,
      "the reading in the cloud READINGS",
    );
    expect(cloudCopy!.subject).toBe(subject);
    expect(cloudCopy!.header.get("ce-type")).toBe("tide.reading.recorded.v1");
    expect(cloudCopy!.header.get("ce-specversion")).toBe("1.0");
    for (const name of ["ce-id", "ce-type", "ce-source", "ce-time", "ce-specversion", "Nats-Msg-Id"]) {
      expect(edgeCopy.header.get(name), name).not.toBe("");
      expect(cloudCopy!.header.get(name), name).toBe(edgeCopy.header.get(name));
    }
    expect(cloudCopy!.header.get("Nats-Msg-Id")).toBe(reply.id);
    expect(decoder.decode(cloudCopy!.data)).toBe(decoder.decode(edgeCopy.data));

    // Edge 2 never has it: not in its streams, not on its subjects.
    for (const stream of ["READINGS", "UPLINK"]) {
      expect(await lastOnSubject(edge2, edgeDomain("2"), stream, subject)).toBeUndefined();
      expect(await lastOnSubject(edge2, edgeDomain("2"), stream, `tide.reading.*.${device}.*`)).toBeUndefined();
    }
    await probeUntilSeen([
      { from: edge1, subject: up("1", "after-a"), listener: onHub },
      { from: hub, subject: down("after-a"), listener: onEdge2 },
    ]);
    const leakedToEdge2 = onEdge2.seen.filter((m) => m.subject.includes(device) || decoder.decode(m.data).includes(device));
    expect(leakedToEdge2.map((m) => m.subject)).toEqual([]);
    expect(onHub.seen.filter((m) => isRawDeviceSubject(m.subject)).map((m) => m.subject)).toEqual([]);
    onEdge2.sub.unsubscribe();
    onHub.sub.unsubscribe();
  });

  it("does not let a device on edge 2 inject into edge 1", async () => {
    const edge1 = await given.connect("1");
    const edge2 = await given.connect("2");
    const device = "intruder";
    const ingest1 = given.fleet.edges.get("1")!.ingest;
    const statsBefore = { ...ingest1.stats };
    const readingsBefore = await streamMessages(edge1, edgeDomain("1"), "READINGS");
    const dlqBefore = await streamMessages(edge1, edgeDomain("1"), "DLQ");
    const hub = await given.connect("cloud");
    const onEdge1 = record(edge1, "tide.>");
    const onHub = record(hub, `${PROBE_UP}.>`);
    await probeUntilSeen([
      { from: edge2, subject: up("2", "edge2-before"), listener: onHub },
      { from: hub, subject: down("edge2-before"), listener: onEdge1 },
    ]);

    const payload = encoder.encode(JSON.stringify({ ts: new Date().toISOString(), temperature: 30, humidity: 30 }));
    edge2.publish(subjects.ingest("1", device), payload);
    const forged = encodeEvent(
      createEvent(
        { type: readingRecorded.type, data: { edge: "1", device, ts: new Date().toISOString(), temperature: 30, humidity: 30 } },
        { source: "tide://edge-2/forged" },
      ),
    );
    edge2.publish(subjects.reading("1", device), forged.data, { headers: forged.headers });
    // Nobody on edge 2's side of the hub answers for edge 1's ingest.
    await expect(edge2.request(subjects.ingest("1", device), payload, { timeout: 5_000 })).rejects.toMatchObject({ code: "503" });
    await edge2.flush();

    await probeUntilSeen([
      { from: edge2, subject: up("2", "edge2-after"), listener: onHub },
      { from: hub, subject: down("edge2-after"), listener: onEdge1 },
    ]);
    expect(onEdge1.seen.filter((m) => m.subject.includes(device)).map((m) => m.subject)).toEqual([]);
    expect(await lastOnSubject(edge1, edgeDomain("1"), "READINGS", subjects.reading("1", device))).toBeUndefined();
    expect(await streamMessages(edge1, edgeDomain("1"), "READINGS")).toBe(readingsBefore);
    expect(await streamMessages(edge1, edgeDomain("1"), "DLQ")).toBe(dlqBefore);
    expect(ingest1.stats).toEqual(statsBefore);
    onEdge1.sub.unsubscribe();
    onHub.sub.unsubscribe();
  });

  it("stores readings while the hub is down and forwards each exactly once when it is back", async () => {
    const count = 1000;
    const device = "offline-dev";
    const before = await given.connect("cloud");
    const beforeInfo = await (await before.jetstreamManager({ domain: CLOUD_DOMAIN })).streams.info("READINGS");
    const baseMessages = beforeInfo.state.messages;
    const baseLastSeq = beforeInfo.state.last_seq;
    await before.close();

    await given.fleet.topology.stopServer("hub");
    expect(given.fleet.topology.server("hub").running).toBe(false);
    try {
      const edge1 = await given.connect("1");
      const ids = new Set<string>();
      const start = Date.now() - 60_000;
      for (let batch = 0; batch < count / 100; batch++) {
        const replies = await Promise.all(
          Array.from({ length: 100 }, (_, i) => sendReading(edge1, "1", device, new Date(start + batch * 100 + i), 20 + (i % 10), 50)),
        );
        for (const reply of replies) {
          expect(reply).toMatchObject({ ok: true, duplicate: false });
          if (reply.ok) ids.add(reply.id);
        }
      }
      expect(ids.size).toBe(count);
      // Nothing could reach the cloud yet; it is all waiting in edge 1's UPLINK.
      expect(given.fleet.topology.server("hub").running).toBe(false);

      await given.fleet.topology.startServer("hub");
      const hub = await given.connect("cloud");
      const jsm = await hub.jetstreamManager({ domain: CLOUD_DOMAIN });
      await eventually(
        () => jsm.streams.info("READINGS"),
        (info) => info.state.messages >= baseMessages + count && (info.sources ?? []).every((s) => s.lag === 0),
        60_000,
        "backlog forwarded to the cloud READINGS",
      );

      const forwarded: string[] = [];
      for await (const m of readMessages(hub, { stream: "READINGS", domain: CLOUD_DOMAIN, fromSeq: baseLastSeq + 1 })) {
        expect(m.subject).toBe(subjects.reading("1", device));
        forwarded.push(m.headers?.get("ce-id") ?? "");
      }
      expect(forwarded.length).toBe(count);
      expect(new Set(forwarded)).toEqual(ids);
      expect(await streamMessages(hub, CLOUD_DOMAIN, "READINGS")).toBe(baseMessages + count);
    } finally {
      if (!given.fleet.topology.server("hub").running) await given.fleet.topology.startServer("hub");
    }
  });
});
