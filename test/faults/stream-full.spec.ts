import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeDomain } from "../../src/ids.ts";
import { eventually } from "../harness.ts";
import { hold, runFaultScenario } from "./scenario.ts";
import { givenFaultSystem, type FaultSystem } from "./system.ts";

/** The edge streams' limit for this test: small enough to reach under load in seconds (the catalogue's is 1 GiB / 7 days). */
const LIMIT = 300;

let system: FaultSystem;
let edgeNc: NatsConnection;

beforeAll(async () => {
  system = await givenFaultSystem({ edges: ["1"] });
  edgeNc = await system.connect("1");
});
afterAll(async () => {
  await system?.cleanup();
});

const state = async (stream: string) => (await (await edgeNc.jetstreamManager({ domain: edgeDomain("1") })).streams.info(stream)).state;

describe("fault: the edge's streams fill to their limit", () => {
  it("the edge keeps ingesting (dropping its oldest local history), and every acked reading still reaches the cloud exactly once", async () => {
    const report = await runFaultScenario(system, {
      name: `edge READINGS and UPLINK full (${LIMIT} messages)`,
      hit: [],
      edgeStreamTruncated: true,
      inject: async () => {
        const jsm = await edgeNc.jetstreamManager({ domain: edgeDomain("1") });
        for (const name of ["READINGS", "UPLINK"]) {
          const { config } = await jsm.streams.info(name);
          await jsm.streams.update(name, { ...config, max_msgs: LIMIT });
        }
        // At the limit, and past it: old messages are being dropped while the load goes on.
        await eventually(() => state("READINGS"), (s) => s.messages === LIMIT && s.first_seq > 1, 90_000, "READINGS at its limit, dropping old");
        const at = (await state("READINGS")).last_seq;
        await eventually(() => state("READINGS"), (s) => s.last_seq >= at + 2 * LIMIT, 90_000, "two limits' worth more readings");
        await hold(0);
      },
      recover: async () => undefined,
    });
    const readings = await state("READINGS");
    expect(readings.messages).toBe(LIMIT);
    expect(readings.first_seq).toBeGreaterThan(1);
    expect(report.ackedDuringFault).toBeGreaterThanOrEqual(2 * LIMIT);
  });
});
