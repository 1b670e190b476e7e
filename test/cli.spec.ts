import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestReply } from "../edge-runtime/ingest/ingest.ts";
import type { ReplayLine } from "../src/cli/commands/replay.ts";
import { decodeEvent } from "../src/events/envelope.ts";
import { readMessages, type StoredMessage } from "../src/store/read-stream.ts";
import { jsonLines, tide } from "./cli-support.ts";
import { eventually, givenFleet, streamMessages, tempDir } from "./harness.ts";

async function messagesOf(nc: NatsConnection, domain: string, stream: string, fromSeq = 1): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of readMessages(nc, { stream, domain, fromSeq })) out.push(m);
  return out;
}

describe("tide without a running topology", () => {
  let empty: string;
  beforeAll(() => {
    empty = tempDir("tide-cli-empty-");
  });
  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
  });

  it("an unknown command exits 2, naming it, with the usage", async () => {
    const run = await tide("frobnicate");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain("usage: tide <command>");
  });

  it("an unknown flag exits 2, naming the flag", async () => {
    const run = await tide("replay", "READINGS", "--bogus", "--dir", empty);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unknown option '--bogus'/);
    expect(run.stderr).toContain("usage: tide replay STREAM");
  });

  it.each([
    [["up", "--edges", "abc"], /--edges must be a whole number, got 'abc'/],
    [["up", "--ports", "weird"], /--ports must be 'standard' or 'free', got 'weird'/],
    [["publish", "--edge", "1", "--device", "d", "--temperature", "hot", "--humidity", "3"], /--temperature must be a finite number, got 'hot'/],
    [["publish", "--edge", "1", "--device", "d", "--temperature", "20"], /--humidity is required/],
    [["replay", "READINGS", "--since", "yesterday"], /--since must be an ISO 8601 time, epoch milliseconds, or a duration ago/],
  ])("tide %j exits 2 with a clear message", async (args, message) => {
    const dir = join(empty, `bad-${args.join("-")}`);
    const run = await tide(...args, "--dir", dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(existsSync(join(dir, "topology.json")), "nothing was started").toBe(false);
  });

  it("replaying a stream the catalogue does not have names it", async () => {
    const run = await tide("replay", "NOPE", "--dir", empty);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no stream 'NOPE'");
  });

  it.each([
    [["replay", "READINGS"]],
    [["streams", "apply"]],
    [["publish", "--edge", "1", "--device", "d1", "--temperature", "20", "--humidity", "40"]],
    [["project", "rebuild", "devices", "--edge", "1"]],
  ])("tide %j in a directory without a topology says to start one with tide up", async (args) => {
    const run = await tide(...args, "--dir", empty);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no topology at ${join(empty, "topology.json")}`);
    expect(run.stderr).toContain(`tide up --dir ${empty}`);
  });
});

describe("tide against a running fleet", () => {
  let given: Awaited<ReturnType<typeof givenFleet>>;
  let edge: NatsConnection;
  let cloud: NatsConnection;

  beforeAll(async () => {
    given = await givenFleet({ edges: 1 });
    edge = await given.connect("1");
    cloud = await given.connect("cloud");
  });
  afterAll(async () => {
    await given?.cleanup();
  });

  const ingest = async (device: string, temperature: number): Promise<Extract<IngestReply, { ok: true }>> => {
    const reply = (await edge.request(`tide.ingest.1.${device}`, JSON.stringify({ temperature, humidity: 50 }), { timeout: 10_000 })).json<IngestReply>();
    if (!reply.ok) throw new Error(`reading not stored: ${reply.reason} ${reply.message}`);
    return reply;
  };

  it("publish stores a reading and says where", async () => {
    const run = await tide("publish", "--edge", "1", "--device", "d1", "--temperature", "21.5", "--humidity", "40", "--dir", given.dir);

    expect(run.code, run.stderr).toBe(0);
    const said = /stored on edge 1 READINGS seq (\d+) \(event ([0-9a-f-]+)\)/.exec(run.stdout);
    expect(said, run.stdout).not.toBeNull();
    const [stored] = await messagesOf(edge, "edge-1", "READINGS", Number(said![1]));
    const decoded = decodeEvent(stored!.headers, stored!.data);
    expect(decoded.success && decoded.event).toMatchObject({
      type: "tide.reading.recorded.v1",
      data: { edge: "1", device: "d1", temperature: 21.5, humidity: 40 },
      metadata: { id: said![2] },
    });
  });

  it("publish of an impossible temperature exits 1 and says it was rejected (schema)", async () => {
    const dlqBefore = await streamMessages(edge, "edge-1", "DLQ");
    const readingsBefore = await streamMessages(edge, "edge-1", "READINGS");

    const run = await tide("publish", "--edge", "1", "--device", "d1", "--temperature", "999", "--humidity", "40", "--dir", given.dir);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rejected \(schema\)/);
    expect(run.stderr).toContain("temperature");
    expect(run.stdout).toBe("");
    expect(await streamMessages(edge, "edge-1", "DLQ")).toBe(dlqBefore + 1);
    expect(await streamMessages(edge, "edge-1", "READINGS")).toBe(readingsBefore);
  });

  it("replay --json prints one line per stored event, with seq, subject, type and data", async () => {
    await ingest("replayed-1", 10);
    await ingest("replayed-2", 11);
    const stored = await messagesOf(edge, "edge-1", "READINGS");

    const run = await tide("replay", "READINGS", "--edge", "1", "--json", "--dir", given.dir);

    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines<ReplayLine>(run.stdout);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.map((l) => l.seq)).toEqual(stored.map((m) => m.seq));
    for (const [i, line] of lines.entries()) {
      const decoded = decodeEvent(stored[i]!.headers, stored[i]!.data);
      if (!decoded.success) throw new Error(decoded.message);
      expect(line).toMatchObject({ seq: stored[i]!.seq, subject: stored[i]!.subject, type: "tide.reading.recorded.v1", valid: true, id: decoded.event.metadata.id });
      expect(line.data).toEqual(decoded.event.data);
    }
    expect(lines.map((l) => (l.data as { device: string }).device)).toEqual(expect.arrayContaining(["replayed-1", "replayed-2"]));
  });

  it("replay --since --until on the cloud prints exactly the events stored in that range", async () => {
    const batch = async (name: string) => {
      const before = await streamMessages(cloud, "cloud", "READINGS");
      const replies = [await ingest(`${name}-1`, 1), await ingest(`${name}-2`, 2), await ingest(`${name}-3`, 3)];
      await eventually(() => streamMessages(cloud, "cloud", "READINGS"), (n) => n >= before + replies.length, 20_000, `batch ${name} in the cloud`);
      return replies.map((r) => r.id);
    };
    const before = await batch("before");
    await sleep(50);
    const since = new Date();
    await sleep(50);
    const inRange = await batch("inside");
    await sleep(50);
    const until = new Date();
    await sleep(50);
    const after = await batch("after");

    const run = await tide("replay", "READINGS", "--json", "--since", since.toISOString(), "--until", until.toISOString(), "--dir", given.dir);

    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines<ReplayLine>(run.stdout);
    expect(lines.map((l) => l.id).sort()).toEqual([...inRange].sort());
    for (const line of lines) {
      expect(Date.parse(line.storedAt)).toBeGreaterThanOrEqual(since.getTime());
      expect(Date.parse(line.storedAt)).toBeLessThanOrEqual(until.getTime());
    }
    const everything = (await messagesOf(cloud, "cloud", "READINGS")).map((m) => m.headers?.get("ce-id"));
    expect(everything).toEqual(expect.arrayContaining([...before, ...inRange, ...after]));
  });

  it("streams apply a second time reports every stream unchanged", async () => {
    const first = await tide("streams", "apply", "--dir", given.dir);
    expect(first.code, first.stderr).toBe(0);

    const second = await tide("streams", "apply", "--dir", given.dir);

    expect(second.code, second.stderr).toBe(0);
    const lines = second.stdout.trim().split("\n");
    const streams = lines.map((line) => line.split(/\s+/).slice(0, 2).join(" "));
    expect(streams).toEqual(first.stdout.trim().split("\n").map((line) => line.split(/\s+/).slice(0, 2).join(" ")));
    expect(streams).toEqual(expect.arrayContaining(["edge-1 READINGS", "edge-1 UPLINK", "edge-1 DLQ", "cloud READINGS", "cloud TASKS"]));
    for (const line of lines) expect(line).toMatch(/ unchanged$/);
  });
});
