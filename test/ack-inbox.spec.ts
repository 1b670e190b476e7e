import { headers as natsHeaders, type JetStreamClient, type MsgHdrs, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEvent, encodeEvent } from "../src/events/envelope.ts";
import { readingRecorded } from "../src/events/reading.ts";
import { subjects } from "../src/events/subjects.ts";
import { edgeDomain } from "../src/ids.ts";
import { ackInboxFor, type AckInbox } from "../src/store/ack-inbox.ts";
import { createEventWriter } from "../src/store/event-writer.ts";
import { applyStreams } from "../streams/apply.ts";
import { givenTopology } from "./harness.ts";

const EDGE = "1";
const DOMAIN = edgeDomain(EDGE);

let given: Awaited<ReturnType<typeof givenTopology>>;
let nc: NatsConnection;
let js: JetStreamClient;
let inbox: AckInbox;

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  nc = await given.connect(EDGE);
  await applyStreams({ nc, place: "edge", domain: DOMAIN, context: { edge: EDGE, edges: [EDGE] } });
  js = nc.jetstream({ domain: DOMAIN });
  inbox = ackInboxFor(js)!;
});

afterAll(async () => {
  await given?.cleanup();
});

function encoded(device: string, id?: string) {
  const event = createEvent(
    { type: readingRecorded.type, data: { edge: EDGE, device, ts: new Date().toISOString(), temperature: 20, humidity: 50 } },
    { source: "tide://test/ack-inbox", ...(id ? { id } : {}) },
  );
  return encodeEvent(event);
}

/** What a promise settles to, errors as their name, code, message and JetStream API error. */
async function outcome(promise: Promise<unknown>) {
  try {
    return { ok: await promise };
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string; api_error?: unknown };
    return { failed: { name: e.name, code: e.code, message: e.message, api_error: e.api_error } };
  }
}

describe("ack inbox", () => {
  it("is there for nats.js's JetStream client, and not for anything else", () => {
    expect(inbox).toBeDefined();
    expect(ackInboxFor({ publish: () => Promise.resolve() } as unknown as JetStreamClient)).toBeUndefined();
  });

  it("stores and acknowledges each publish as js.publish does, duplicates included", async () => {
    const subject = subjects.reading(EDGE, "inbox-dev");
    const first = encoded("inbox-dev", "inbox-1");
    const viaInbox = await inbox.publish(subject, first.data, first.headers);
    const again = await inbox.publish(subject, first.data, first.headers);
    const viaJs = await js.publish(subject, first.data, { headers: first.headers });
    expect(viaInbox).toEqual({ stream: "READINGS", seq: viaInbox.seq, duplicate: false, ...(viaInbox.domain ? { domain: viaInbox.domain } : {}) });
    expect(again).toEqual({ ...viaInbox, duplicate: true });
    expect(viaJs).toEqual(again);

    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => encoded("inbox-dev")).map((e) => inbox.publish(subject, e.data, e.headers)));
    const seqs = many.map((ack) => ack.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(200);
  });

  it("fails as js.publish fails when no stream takes the subject (no responders)", async () => {
    const e = encoded("nowhere");
    const subject = "tide.nowhere.at.all";
    const viaInbox = await outcome(inbox.publish(subject, e.data, e.headers));
    expect(viaInbox).toMatchObject({ failed: { code: "503" } });
    expect(viaInbox).toEqual(await outcome(js.publish(subject, e.data, { headers: e.headers })));
  });

  it("fails as js.publish fails on a JetStream API error", async () => {
    const subject = subjects.reading(EDGE, "inbox-dev");
    const e = encoded("inbox-dev");
    const withExpectation = (h: MsgHdrs) => {
      const copy = natsHeaders();
      for (const key of h.keys()) copy.set(key, h.get(key));
      copy.set("Nats-Expected-Stream", "NOT_READINGS");
      return copy;
    };
    const viaInbox = await outcome(inbox.publish(subject, e.data, withExpectation(e.headers)));
    expect(viaInbox).toMatchObject({ failed: { api_error: { err_code: 10060 } } });
    expect(viaInbox).toEqual(await outcome(js.publish(subject, e.data, { headers: withExpectation(e.headers) })));
  });

  it("times out as js.publish does when nothing acknowledges", async () => {
    const quick = nc.jetstream({ domain: DOMAIN, timeout: 300 });
    const silent = nc.subscribe("tide.silent.>", { callback: () => undefined });
    await nc.flush();
    const e = encoded("silent");
    const viaInbox = await outcome(ackInboxFor(quick)!.publish("tide.silent.x", e.data, e.headers));
    expect(viaInbox).toMatchObject({ failed: { code: "TIMEOUT" } });
    expect(viaInbox).toEqual(await outcome(quick.publish("tide.silent.x", e.data, { headers: e.headers })));
    silent.unsubscribe();
  });

  it("fails publishes waiting on a connection that closes, and refuses new ones, as js.publish does", async () => {
    const own = await given.connect(EDGE);
    const ownJs = own.jetstream({ domain: DOMAIN });
    const ownInbox = ackInboxFor(ownJs)!;
    const silent = own.subscribe("tide.silent.>", { callback: () => undefined });
    await own.flush();
    const e = encoded("silent");
    const waitingInbox = outcome(ownInbox.publish("tide.silent.y", e.data, e.headers));
    const waitingJs = outcome(ownJs.publish("tide.silent.y", e.data, { headers: e.headers }));
    await own.close();
    expect(await waitingInbox).toEqual(await waitingJs);
    expect((await waitingInbox).failed).toBeDefined();
    const after = await outcome(ownInbox.publish(subjects.reading(EDGE, "x"), e.data, e.headers));
    expect(after).toMatchObject({ failed: { code: "CONNECTION_CLOSED" } });
    expect(after).toEqual(await outcome(ownJs.publish(subjects.reading(EDGE, "x"), e.data, { headers: e.headers })));
    silent.unsubscribe();
  });

  it("is what the event writer appends through", async () => {
    const writer = createEventWriter(js);
    const subject = subjects.reading(EDGE, "writer-dev");
    const event = createEvent(
      { type: readingRecorded.type, data: { edge: EDGE, device: "writer-dev", ts: new Date().toISOString(), temperature: 20, humidity: 50 } },
      { source: "tide://test/ack-inbox" },
    );
    const stored = await writer.append(subject, event);
    expect(stored).toMatchObject({ stream: "READINGS", duplicate: false });
    expect(await writer.append(subject, event)).toEqual({ ...stored, duplicate: true });
    expect(await outcome(writer.append("tide.nowhere.at.all", event))).toMatchObject({ failed: { code: "503" } });
  });
});
