import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../harness.ts";
import { hold, runFaultScenario } from "./scenario.ts";
import { givenFaultSystem, type FaultSystem } from "./system.ts";

/** How long the leaf link stays cut: the full minute (TIDE_FAULT_CUT_SECONDS changes it for a quick local run). */
const CUT_MS = Number(process.env.TIDE_FAULT_CUT_SECONDS ?? 60) * 1000;

let system: FaultSystem;

const leafLinks = async (monitorUrl: string): Promise<number> => {
  try {
    return ((await (await fetch(`${monitorUrl}/leafz`)).json()) as { leafnodes?: number }).leafnodes ?? 0;
  } catch {
    return -1;
  }
};

beforeAll(async () => {
  system = await givenFaultSystem({ edges: ["1"], cuttable: true });
});
afterAll(async () => {
  await system?.cleanup();
});

describe("fault: the leaf link is cut", () => {
  it("the edge ingests, infers and decides alone; the backlog reaches the cloud exactly once when the link is back", async () => {
    const edge = system.file.edges[0]!;
    const report = await runFaultScenario(system, {
      name: `leaf link cut ${CUT_MS / 1000} s`,
      hit: [],
      edgeStayedUp: true,
      inject: async () => {
        system.proxy("1").cut();
        await eventually(() => leafLinks(edge.monitorUrl), (n) => n === 0, 30_000, "leaf link down");
        await hold(CUT_MS);
        // Still down at the end: the edge had no other way to the hub.
        expect(await leafLinks(edge.monitorUrl)).toBe(0);
      },
      recover: async () => {
        system.proxy("1").restore();
        await system.topology.waitForLeafLinks(["1"], 60_000);
      },
    });
    expect(report.ackedDuringFault).toBeGreaterThan(20);
  });
});

describe("fault: the hub restarts", () => {
  it("the edge works on alone, the cloud services reconnect by themselves, and nothing acked is lost or doubled", async () => {
    const report = await runFaultScenario(system, {
      name: "hub restart",
      hit: ["hub"],
      edgeStayedUp: true,
      inject: async () => {
        await system.topology.stopServer("hub");
        await hold(5000);
      },
      recover: () => system.topology.startServer("hub"),
    });
    expect(report.ackedDuringFault).toBeGreaterThan(5);
  });

  it("and when the hub is SIGKILLed instead", async () => {
    await runFaultScenario(system, {
      name: "hub SIGKILL",
      hit: ["hub"],
      edgeStayedUp: true,
      inject: async () => {
        await system.topology.killServer("hub");
        await hold(5000);
      },
      recover: () => system.topology.startServer("hub"),
    });
  });
});
