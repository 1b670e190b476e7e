import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hold, runFaultScenario } from "./scenario.ts";
import { givenFaultSystem, type FaultSystem } from "./system.ts";

let system: FaultSystem;

beforeAll(async () => {
  system = await givenFaultSystem({ edges: ["1"] });
});
afterAll(async () => {
  await system?.cleanup();
});

describe("fault: the edge runtime process is SIGKILLed under load", () => {
  it("loses no acked reading; after a supervisor restart every reading is inferred once and the projections equal a rebuild", async () => {
    const report = await runFaultScenario(system, {
      name: "SIGKILL edge runtime",
      hit: ["edge-runtime-1"],
      inject: async () => {
        await system.kill("edge-runtime-1");
        await hold(3000);
      },
      recover: () => system.restart("edge-runtime-1"),
    });
    expect(report.retries, "devices had to retry while ingest was gone").toBeGreaterThan(0);
  });
});

describe("fault: the edge nats-server is SIGKILLed under load", () => {
  it("loses no acked reading; the edge runtime and the devices reconnect by themselves", async () => {
    const report = await runFaultScenario(system, {
      name: "SIGKILL edge nats-server",
      hit: ["edge-1"],
      inject: async () => {
        await system.topology.killServer("edge-1");
        await hold(3000);
      },
      recover: () => system.topology.startServer("edge-1"),
    });
    expect(report.retries).toBeGreaterThan(0);
  });
});
