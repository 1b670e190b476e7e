import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN, edgeDomain } from "../src/ids.ts";
import { eventually, givenTopology } from "./harness.ts";
import { applyStreams } from "../streams/apply.ts";

// The cloud READINGS sources each edge's UPLINK across the hub's accounts (the edge's account exports what its
// consumer delivers). That consumer uses flow control: after about 2 MB it waits for the cloud's flow-control
// reply, which must cross back into the edge's account. Without that path (measured: a missing `$JS.FC.>`
// import) sourcing stalls for good after ~500 of these messages, with no error anywhere.
type Given = Awaited<ReturnType<typeof givenTopology>>;
let given: Given;
let edge: NatsConnection;
let cloud: NatsConnection;

beforeAll(async () => {
  given = await givenTopology({ edges: 2 });
  cloud = await given.connect(CLOUD_DOMAIN);
  edge = await given.connect("1");
  const edges = ["1", "2"];
  for (const id of edges) await applyStreams({ nc: await given.connect(id), place: "edge", domain: edgeDomain(id), context: { edge: id, edges } });
  await applyStreams({ nc: cloud, place: "cloud", domain: CLOUD_DOMAIN, context: { edges } });
}, 60_000);

afterAll(async () => {
  await given?.cleanup();
});

describe("sourcing across the hub's accounts", () => {
  it("forwards a burst several times the flow-control window, all of it, from either edge", async () => {
    const count = 1500;
    const body = new Uint8Array(4000).fill(0x61);
    const cloudJsm = await cloud.jetstreamManager();
    const inCloud = async (edgeId: string) => {
      const info = await cloudJsm.streams.info("READINGS", { subjects_filter: `tide.summary.${edgeId}.>` });
      return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    };
    for (const edgeId of ["1", "2"]) {
      const nc = edgeId === "1" ? edge : await given.connect(edgeId);
      const js = nc.jetstream({ domain: edgeDomain(edgeId) });
      const before = await inCloud(edgeId);
      for (let i = 0; i < count; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => js.publish(`tide.summary.${edgeId}.burst-${(i + j) % 10}`, body)));
      }
      await eventually(() => inCloud(edgeId), (n) => n - before >= count, 60_000, `edge ${edgeId}'s burst in the cloud`);
      expect((await inCloud(edgeId)) - before).toBe(count);
    }
  }, 180_000);
});
