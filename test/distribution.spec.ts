import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NatsConnection } from "nats";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDistribution, type Distribution, type ModeChange } from "../edge-runtime/distribution/index.ts";
import { startIngest, type Ingest, type IngestReply } from "../edge-runtime/ingest/ingest.ts";
import { subjects, type TideEvent } from "../src/events/index.ts";
import { edgeDomain } from "../src/ids.ts";
import { readStream } from "../src/store/read-stream.ts";
import { applyStreams } from "../streams/apply.ts";
import { eventually, givenTopology } from "./harness.ts";

type Given = Awaited<ReturnType<typeof givenTopology>>;
const EDGES = ["1", "2", "3"];
let given: Given;
let hub: NatsConnection;

beforeAll(async () => {
  given = await givenTopology({ edges: EDGES });
  for (const edge of EDGES) await applyStreams({ nc: await given.connect(edge), place: "edge", domain: edgeDomain(edge), context: { edge, edges: EDGES } });
  hub = await given.connect("cloud");
  await applyStreams({ nc: hub, place: "cloud", domain: "cloud", context: { edges: EDGES } });
});
afterAll(async () => {
  await given?.cleanup();
});

/** An edge running ingest with a distribution policy, and the log lines it wrote. */
async function startEdge(edge: string, policy: unknown) {
  const nc = await given.connect(edge);
  const policyPath = join(given.dir, `policy-${edge}.json`);
  writeFileSync(policyPath, JSON.stringify(policy));
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const distribution: Distribution = createDistribution({ nc, edge, policyPath, logger, linkIntervalMs: 200, statsIntervalMs: 500, summaryIdleMs: 3000, policyPollMs: 300 });
  const changes: ModeChange[] = [];
  distribution.onModeChange((c) => changes.push(c));
  await distribution.start();
  const ingest: Ingest = startIngest({ nc, edge, route: distribution.route });
  /** Publish one reading the way a device does and return its READINGS seq and stored subject. */
  const send = async (device: string, reading: { ts: string; temperature: number; humidity: number; seq?: number }) => {
    const reply = JSON.parse(new TextDecoder().decode((await nc.request(subjects.ingest(edge, device), JSON.stringify(reading), { timeout: 5000 })).data)) as IngestReply;
    if (!reply.ok) throw new Error(`reading refused: ${reply.message}`);
    const stored = await (await nc.jetstreamManager({ domain: edgeDomain(edge) })).streams.getMessage("READINGS", { seq: reply.seq });
    return { seq: reply.seq, subject: stored.subject };
  };
  const stop = async () => {
    await ingest.stop();
    await distribution.stop();
  };
  return { nc, policyPath, distribution, changes, logs, send, stop };
}

/** Events of `stream` on `subject` in a domain. */
async function events(nc: NatsConnection, domain: string, stream: string, subject: string): Promise<TideEvent[]> {
  const out: TideEvent[] = [];
  for await (const stored of readStream(nc, { stream, domain, subject })) out.push(stored.event);
  return out;
}
const cloud = (subject: string) => events(hub, "cloud", "READINGS", subject);

/** Wait until the cloud holds everything the edge has put in UPLINK so far. */
async function forwarded(edge: string): Promise<void> {
  const jsm = await (await given.connect(edge)).jetstreamManager({ domain: edgeDomain(edge) });
  const counts = async () => {
    const uplink = (await jsm.streams.info("UPLINK")).state.messages;
    return { uplink, cloud: (await cloud(`tide.*.${edge}.>`)).length + (await cloud(subjects.distribution(edge))).length };
  };
  await eventually(counts, (c) => c.cloud >= c.uplink, 30_000, `cloud copy of edge ${edge} UPLINK`);
}

const ts = (base: string, second: number) => new Date(Date.parse(base) + second * 1000).toISOString();
const NOW = new Date().toISOString();
const of = <T extends TideEvent["type"]>(list: TideEvent[], type: T) => list.filter((e): e is Extract<TideEvent, { type: T }> => e.type === type);

describe("distribution: routing by rule", () => {
  let edge: Awaited<ReturnType<typeof startEdge>>;
  const seqs: Record<string, { seq: number; subject: string }[]> = {};
  const sent = async (device: string, reading: Parameters<typeof edge.send>[1]) => (seqs[device] ??= []).push(await edge.send(device, reading));

  beforeAll(async () => {
    edge = await startEdge("1", {
      version: 1,
      rules: [
        { name: "raw", match: { devices: ["raw-*"] }, route: "raw" },
        { name: "loc", match: { devices: ["loc-*"] }, route: "local" },
        { name: "sum", match: { devices: ["sum-*"] }, route: "summary", summary: { windowSeconds: 60 } },
        { name: "ano", match: { devices: ["ano-*"] }, route: "anomalies", anomaly: { warmup: 20, k: 5, alpha: 0.1, minStdDev: 0.2 } },
      ],
      default: { name: "rest", route: "local" },
    });
    for (let i = 0; i < 5; i++) await sent("raw-1", { ts: ts(NOW, i), seq: i, temperature: 20 + i, humidity: 40 });
    for (let i = 0; i < 5; i++) await sent("loc-1", { ts: ts(NOW, i), seq: i, temperature: 20, humidity: 40 });
    for (let i = 0; i < 4; i++) await sent("sum-1", { ts: ts("2024-06-01T10:00:00Z", 10 * i), temperature: 20 + i, humidity: 40 + 2 * i });
    for (let i = 0; i < 3; i++) await sent("sum-1", { ts: ts("2024-06-01T10:01:00Z", 10 * i), temperature: 10 - i, humidity: 60 });
    for (let i = 0; i < 30; i++) {
      const spike = i === 25 ? { temperature: 35 } : i === 29 ? { humidity: 80 } : {};
      await sent("ano-1", { ts: ts(NOW, i), seq: i, temperature: 20 + 0.3 * Math.sin(i), humidity: 45 + 0.5 * Math.cos(i), ...spike });
    }
    for (let i = 0; i < 2; i++) await sent("other-1", { ts: ts(NOW, i), seq: i, temperature: 20, humidity: 40 });
  });

  it("stores raw readings up and the others local, on the edge", () => {
    expect(seqs["raw-1"]!.map((s) => s.subject)).toEqual(Array(5).fill("tide.reading.1.raw-1.up"));
    for (const device of ["loc-1", "sum-1", "other-1"]) expect(new Set(seqs[device]!.map((s) => s.subject))).toEqual(new Set([`tide.reading.1.${device}.local`]));
    const ano = seqs["ano-1"]!.map((s) => s.subject.endsWith(".up"));
    expect(ano.flatMap((up, i) => (up ? [i] : []))).toEqual([25, 29]);
  });

  it("forwards exactly the raw readings and the two injected anomalies to the cloud", async () => {
    await forwarded("1");
    const up = await cloud("tide.reading.1.*.up");
    expect(up.map((e) => (e.type === "tide.reading.recorded.v1" ? `${e.data.device}:${e.data.seq}` : e.type)).sort()).toEqual(
      ["raw-1:0", "raw-1:1", "raw-1:2", "raw-1:3", "raw-1:4", "ano-1:25", "ano-1:29"].sort(),
    );
    expect(await cloud("tide.reading.1.*.local")).toEqual([]);
  });

  it("sends one summary per device window to the cloud, closed by the next window and by the idle timer", async () => {
    const summaries = await eventually(async () => of(await cloud("tide.summary.1.>"), "tide.summary.recorded.v1"), (s) => s.length >= 2, 30_000, "two summaries");
    expect(summaries).toHaveLength(2);
    const s = seqs["sum-1"]!.map((x) => x.seq);
    expect(summaries[0]!.data).toEqual({
      edge: "1", device: "sum-1", windowStart: "2024-06-01T10:00:00.000Z", windowEnd: "2024-06-01T10:01:00.000Z", count: 4,
      temperature: { mean: 21.5, min: 20, max: 23 }, humidity: { mean: 43, min: 40, max: 46 }, fromSeq: s[0], toSeq: s[3],
    });
    expect(summaries[1]!.data).toMatchObject({ windowStart: "2024-06-01T10:01:00.000Z", count: 3, temperature: { mean: 9, min: 8, max: 10 }, humidity: { mean: 60 }, fromSeq: s[4], toSeq: s[6] });
  });

  it("says in its stats exactly how many readings went where under which rule", async () => {
    await edge.stop();
    await forwarded("1");
    const totals = new Map<string, { readings: number; forwarded: number }>();
    for (const e of of(await cloud(subjects.distribution("1")), "tide.distribution.stats.v1")) {
      for (const c of e.data.counts) {
        const t = totals.get(`${c.rule}/${c.route}`) ?? { readings: 0, forwarded: 0 };
        totals.set(`${c.rule}/${c.route}`, { readings: t.readings + c.readings, forwarded: t.forwarded + c.forwarded });
      }
    }
    expect(Object.fromEntries(totals)).toEqual({
      "raw/raw": { readings: 5, forwarded: 5 },
      "loc/local": { readings: 5, forwarded: 0 },
      "sum/summary": { readings: 7, forwarded: 0 },
      "ano/anomalies": { readings: 30, forwarded: 2 },
      "rest/local": { readings: 2, forwarded: 0 },
    });
  });
});

describe("distribution: policy reload", () => {
  it("applies a changed policy file without a restart, and rejects a bad one, keeping the old", async () => {
    const edge = await startEdge("1", { version: 1, default: { name: "rest", route: "local" } });
    const reading = (i: number) => ({ ts: ts(NOW, 100 + i), seq: 100 + i, temperature: 21, humidity: 41 });
    expect((await edge.send("reload-1", reading(0))).subject).toBe("tide.reading.1.reload-1.local");

    writeFileSync(edge.policyPath, JSON.stringify({ version: 1, rules: [{ name: "vip", match: { devices: ["reload-*"] }, route: "raw" }], default: { name: "rest", route: "local" } }));
    await eventually(() => edge.distribution.policy()?.rules.map((r) => r.name), (names) => names?.[0] === "vip", 10_000, "policy reloaded");
    expect((await edge.send("reload-1", reading(1))).subject).toBe("tide.reading.1.reload-1.up");

    writeFileSync(edge.policyPath, JSON.stringify({ version: 1, rules: [{ name: "vip", route: "sideways" }], default: { route: "local" } }));
    const error = await eventually(() => edge.logs.find((l) => l.level >= 50), (l) => l !== undefined, 10_000, "rejection logged");
    expect(error?.msg).toMatch(/is invalid: rules\.0\.route: .*\(rejected; the previous policy stays in force\)/);
    expect(edge.distribution.policy()?.rules[0]?.route).toBe("raw");
    expect((await edge.send("reload-1", reading(2))).subject).toBe("tide.reading.1.reload-1.up");
    await edge.stop();

    await forwarded("1");
    const up = await cloud("tide.reading.1.reload-1.up");
    expect(up.map((e) => (e.type === "tide.reading.recorded.v1" ? e.data.seq : -1))).toEqual([101, 102]);
  });
});

describe("distribution: network-aware degradation", () => {
  it("degrades raw -> summary while the link is cut, and restores when it is back", async () => {
    const edge = await startEdge("2", { version: 1, default: { name: "all", route: "raw", degrade: { to: "summary", whenDisconnected: true, restore: { forSeconds: 1 } } } });
    const reading = (i: number) => ({ ts: ts("2024-06-01T12:00:00Z", i), temperature: 20 + i, humidity: 50 });
    const before = [await edge.send("cut-1", reading(0)), await edge.send("cut-1", reading(1))];

    await given.topology.stopServer("hub");
    await eventually(() => edge.distribution.modes().all?.route, (r) => r === "summary", 30_000, "degraded mode");
    const during = [];
    for (let i = 2; i < 6; i++) during.push(await edge.send("cut-1", reading(i)));

    await given.topology.startServer("hub");
    await eventually(() => edge.distribution.modes().all?.route, (r) => r === "raw", 60_000, "restored mode");
    const after = [await edge.send("cut-1", reading(6)), await edge.send("cut-1", reading(7))];
    await edge.stop();

    expect([...before, ...after].map((s) => s.subject)).toEqual(Array(4).fill("tide.reading.2.cut-1.up"));
    expect(during.map((s) => s.subject)).toEqual(Array(4).fill("tide.reading.2.cut-1.local"));
    expect(edge.changes.map((c) => [c.from, c.to, c.reason, c.link.connected])).toEqual([
      ["raw", "summary", "uplink disconnected", false],
      ["summary", "raw", "uplink connected for 1 s", true],
    ]);

    await forwarded("2");
    const up = await cloud("tide.reading.2.*.up");
    expect(up.map((e) => (e.type === "tide.reading.recorded.v1" ? e.data.temperature : -1))).toEqual([20, 21, 26, 27]);
    const summaries = of(await cloud("tide.summary.2.>"), "tide.summary.recorded.v1");
    expect(summaries.map((s) => s.data)).toEqual([
      expect.objectContaining({ count: 4, temperature: { mean: 23.5, min: 22, max: 25 }, fromSeq: during[0]!.seq, toSeq: during[3]!.seq }),
    ]);
    const modes = of(await cloud(subjects.distribution("2")), "tide.distribution.mode_changed.v1");
    expect(modes.map((m) => [m.data.rule, m.data.from, m.data.to])).toEqual([
      ["all", "raw", "summary"],
      ["all", "summary", "raw"],
    ]);
  });

  it("degrades raw -> local above a backlog threshold, and restores once the cloud has caught up", async () => {
    const edge = await startEdge("3", { version: 1, default: { name: "bulk", route: "raw", degrade: { to: "local", whenBacklogAbove: 10, restore: { belowFraction: 0.5, forSeconds: 1 } } } });
    const reading = (i: number) => ({ ts: ts(NOW, i), seq: i, temperature: 20, humidity: 50 });
    const stored: { seq: number; subject: string }[] = [];
    for (let i = 0; i < 2; i++) stored.push(await edge.send("bulk-1", reading(i)));
    await eventually(() => edge.distribution.link().backlog, (b) => b === 0, 30_000, "no backlog");

    await given.topology.stopServer("hub");
    for (let i = 2; i < 17; i++) stored.push(await edge.send("bulk-1", reading(i)));
    await eventually(() => edge.distribution.modes().bulk?.route, (r) => r === "local", 30_000, "degraded on backlog");
    const duringCount = stored.length;
    for (let i = 17; i < 22; i++) stored.push(await edge.send("bulk-1", reading(i)));

    await given.topology.startServer("hub");
    await eventually(() => edge.distribution.modes().bulk?.route, (r) => r === "raw", 60_000, "restored");
    for (let i = 22; i < 25; i++) stored.push(await edge.send("bulk-1", reading(i)));
    await edge.stop();

    expect(edge.changes.map((c) => [c.from, c.to])).toEqual([["raw", "local"], ["local", "raw"]]);
    expect(edge.changes[0]!.reason).toMatch(/^backlog (\d+) > 10$/);
    expect(edge.changes[1]!.reason).toMatch(/^backlog \d+ <= 5 for 1 s$/);
    expect(stored.slice(0, 2).every((s) => s.subject.endsWith(".up"))).toBe(true);
    expect(stored.slice(duringCount, duringCount + 5).every((s) => s.subject.endsWith(".local"))).toBe(true);
    expect(stored.slice(-3).every((s) => s.subject.endsWith(".up"))).toBe(true);

    await forwarded("3");
    const upSeqs = stored.filter((s) => s.subject.endsWith(".up")).map((s) => stored.indexOf(s));
    const inCloud = (await cloud("tide.reading.3.*.up")).map((e) => (e.type === "tide.reading.recorded.v1" ? e.data.seq : -1));
    expect(inCloud).toEqual(upSeqs);
    const counted = of(await cloud(subjects.distribution("3")), "tide.distribution.stats.v1").flatMap((e) => e.data.counts);
    const sum = (route: string, key: "readings" | "forwarded") => counted.filter((c) => c.route === route).reduce((n, c) => n + c[key], 0);
    expect([sum("raw", "readings"), sum("raw", "forwarded"), sum("local", "readings")]).toEqual([upSeqs.length, upSeqs.length, 25 - upSeqs.length]);
  });
});
