import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import { CLOUD_DOMAIN, edgeDomain } from "../../src/ids.ts";
import { eventually } from "../harness.ts";
import { startDeviceLoad, type AckedReading, type DeviceLoad } from "./devices.ts";
import { expectAckedInCloudOnce, expectInferredOnce, expectOnlyRestarted, expectProjectionsEqualRebuild, liveCheckpoint } from "./invariants.ts";
import type { FaultSystem } from "./system.ts";

export interface FaultScenario {
  /** What the report calls it. */
  name: string;
  edge?: string;
  /** The processes/servers the fault kills or restarts (their pids may change; nothing else's may). */
  hit: readonly string[];
  /** Inject the fault (the load runs; acks now count as phase `fault`). */
  inject(load: DeviceLoad): Promise<void>;
  /** End it: what a supervisor (or the network) does. */
  recover(load: DeviceLoad): Promise<void>;
  /**
   * The edge was cut off from the cloud but itself up: readings acked during the fault must
   * have been inferred and decided on before `recover` ran.
   */
  edgeStayedUp?: boolean;
  /**
   * The edge READINGS dropped its oldest messages (it hit its limit): an edge
   * rebuild can only replay what is kept, so only the cloud projections (which
   * have every reading) are compared with a rebuild.
   */
  edgeStreamTruncated?: boolean;
}

export interface FaultReport {
  name: string;
  acked: number;
  ackedDuringFault: number;
  inCloud: number;
  retries: number;
  edgeProjections: string[];
  cloudProjections: string[];
  inferred: number;
  decisionsDuringFault: number;
}

/** Where each scenario's figures go (RELIABILITY.md quotes them), when set. */
const REPORT_FILE = process.env.TIDE_FAULT_REPORT;

const enough = (load: DeviceLoad, phase: string, n: number, what: string) => eventually(() => load.inPhase(phase).length, (k) => k >= n, 90_000, what);

/**
 * One fault under load, then every invariant: each acked reading is in the
 * cloud exactly once; edge and cloud projections equal a rebuild; the edge
 * inferred every reading once (and, when it stayed up, did so during the
 * fault); no process restarted but the one hit.
 */
export async function runFaultScenario(system: FaultSystem, scenario: FaultScenario): Promise<FaultReport> {
  const edge = scenario.edge ?? system.file.edges[0]!.id;
  const hub = await system.connect(CLOUD_DOMAIN);
  const edgeNc = await system.connect(edge);
  const device = await system.connect(edge);
  const load = startDeviceLoad(device, edge, { prefix: `fd-${scenario.name.replace(/[^a-z0-9]/gi, "").slice(0, 12)}` });
  let acked: AckedReading[] = [];
  let recoveredAt = 0;
  let decisionsDuringFault = 0;
  try {
    await enough(load, "before", 20, "readings acked before the fault");
    const pids = system.pids();
    load.setPhase("fault");
    await scenario.inject(load);
    if (scenario.edgeStayedUp) {
      // Still cut off: the edge must have inferred and decided on what it acked, by itself.
      load.setPhase("closing");
      const faulted = load.inPhase("fault");
      expect(faulted.length, "readings acked while the fault was on").toBeGreaterThan(0);
      decisionsDuringFault = (await expectInferredOnce(edgeNc, edge, faulted)).decisions;
    }
    recoveredAt = Date.now();
    await scenario.recover(load);
    load.setPhase("after");
    await enough(load, "after", 20, "readings acked after recovery");
    expectOnlyRestarted(pids, system.pids(), scenario.hit);
  } finally {
    acked = await load.stop();
  }

  const during = acked.filter((a) => a.phase === "fault");
  const { inCloud } = await expectAckedInCloudOnce(hub, edge, acked);

  // The live projections catch up by themselves, then equal a rebuild.
  const edgeLastSeq = (await (await edgeNc.jetstreamManager({ domain: edgeDomain(edge) })).streams.info("READINGS")).state.last_seq;
  await eventually(() => liveCheckpoint(system.edgeDbPath(edge), "devices"), (seq) => seq >= edgeLastSeq, 60_000, "edge devices projection caught up");
  const edgeProjections = scenario.edgeStreamTruncated ? [] : await expectProjectionsEqualRebuild(edgeNc, system.edgeDbPath(edge), "edge", edge);
  const cloudProjections = await expectProjectionsEqualRebuild(hub, system.cloudDbPath(), "cloud");

  const inference = await expectInferredOnce(edgeNc, edge, acked);
  // Checked again after recovery: what was inferred while cut off was stored then, and not redone.
  if (scenario.edgeStayedUp) await expectInferredOnce(edgeNc, edge, during, recoveredAt);
  const report: FaultReport = {
    name: scenario.name,
    acked: acked.length,
    ackedDuringFault: during.length,
    inCloud,
    retries: load.stats.retries,
    edgeProjections,
    cloudProjections,
    inferred: inference.inferred,
    decisionsDuringFault,
  };
  if (REPORT_FILE) appendFileSync(REPORT_FILE, JSON.stringify(report) + "\n");
  return report;
}

/** Let the load run `ms` more while the fault is on. */
export const hold = (ms: number) => sleep(ms);
