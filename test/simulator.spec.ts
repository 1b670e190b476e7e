import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIngest, type Ingest } from "../edge-runtime/ingest/ingest.ts";
import { DEFAULT_COOLING } from "../edge-runtime/control/cooling.ts";
import {
  BAD_PAYLOAD_REASON,
  createSimulation,
  replaySimulation,
  startSimulator,
  type CommandLog,
  type DeviceStep,
  type Simulator,
} from "../edge-runtime/simulator/index.ts";
import { parseSimulateArgs } from "../src/cli/commands/simulate.ts";
import { UsageError } from "../src/errors.ts";
import { createEvent, subjects, type EventData } from "../src/events/index.ts";
import { appendToStream } from "../src/store/append-to-stream.ts";
import { readStream } from "../src/store/read-stream.ts";
import { eventually, givenFleet } from "./harness.ts";
import { TIDE } from "./tide-command.ts";

const exec = promisify(execFile);
const DOMAIN = "edge-1";

type Reading = EventData<"tide.reading.recorded.v1">;
type DeadLetter = EventData<"tide.dlq.rejected.v1">;
type Given = Awaited<ReturnType<typeof givenFleet>>;

let given: Given;
let nc: NatsConnection;
/** The ingest the retry test starts in place of the fleet's. */
let replacementIngest: Ingest | undefined;

beforeAll(async () => {
  given = await givenFleet({ edges: 1 });
  nc = await given.connect("1");
});

afterAll(async () => {
  await replacementIngest?.stop();
  await given?.cleanup();
});

/** Readings of edge 1 whose device starts with `prefix`, keyed `device/seq`. */
async function storedReadings(prefix: string): Promise<Map<string, Reading>> {
  const readings = new Map<string, Reading>();
  for await (const { event } of readStream(nc, { stream: "READINGS", domain: DOMAIN })) {
    if (event.type === "tide.reading.recorded.v1" && event.data.device.startsWith(`${prefix}-`)) readings.set(`${event.data.device}/${event.data.seq}`, event.data);
  }
  return readings;
}

async function deadLetters(prefix: string): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for await (const { event } of readStream(nc, { stream: "DLQ", domain: DOMAIN })) {
    if (event.type === "tide.dlq.rejected.v1" && event.data.subject.startsWith(`tide.ingest.1.${prefix}-`)) letters.push(event.data);
  }
  return letters;
}

/** The commands each simulated device applied, and where: with the seed, all a replay needs. */
const commandLog = (simulator: Simulator): CommandLog => new Map(simulator.devices().map((d) => [d.device, d.commands]));

type SentReading = Extract<DeviceStep, { kind: "reading" }>;
type SentBadPayload = Extract<DeviceStep, { kind: "bad_payload" }>;
const readingsOf = (steps: DeviceStep[]) => steps.filter((s): s is SentReading => s.kind === "reading");

const asStored = (s: SentReading): Reading => ({ edge: "1", device: s.device, ts: s.ts, seq: s.seq, temperature: s.payload.temperature, humidity: s.payload.humidity });

const byDeviceSeq = (a: Reading, b: Reading) => a.device.localeCompare(b.device) || (a.seq ?? 0) - (b.seq ?? 0);

// One reading per simulated minute (50 Hz x 3000), so cooling acts within a few readings.
const base = { startMs: Date.parse("2024-06-01T00:00:00.000Z"), rate: 50, speed: 3000, anomalyRate: 0.01 } as const;

describe("the simulator against edge 1", () => {
  it("stores exactly the generated readings (stuck and spiked ones too) and dead-letters the bad payloads", async () => {
    const config = { ...base, seed: 42, devices: 3, faulty: 1, devicePrefix: "run", faultRates: { stuck: 0.05, spike: 0.05, dropout: 0.03, badPayload: 0.08 } };
    const simulator = await startSimulator({ nc, edge: "1", count: 200, ...config });
    const stats = await simulator.done;

    // The edge's cooling control may command these devices (a spike looks hot): replay with their command log.
    const steps = replaySimulation(config, 200, commandLog(simulator));
    const readings = readingsOf(steps);
    const bad = steps.filter((s): s is SentBadPayload => s.kind === "bad_payload");
    expect(stats).toMatchObject({ ticks: 200, measured: 600, stored: readings.length, rejected: bad.length, failed: 0, duplicates: 0, unsent: 0 });
    expect(stats.sent).toBe(readings.length + bad.length);
    expect(stats.dropouts).toBe(steps.filter((s) => s.kind === "dropout").length);
    expect(stats.dropouts).toBeGreaterThan(0);

    const stored = await storedReadings("run");
    expect([...stored.values()].sort(byDeviceSeq)).toEqual(readings.map(asStored).sort(byDeviceSeq));
    // Stuck and spiked values are valid, just wrong: they are stored as they were sent.
    for (const fault of ["stuck", "spike"] as const) {
      const faulty = readings.filter((s) => s.fault === fault);
      expect(faulty.length, `${fault} readings in the run`).toBeGreaterThan(0);
      for (const s of faulty) expect(stored.get(`${s.device}/${s.seq}`)).toEqual(asStored(s));
    }
    expect(readings.some((s) => s.fault === "spike" && s.payload.temperature !== s.truth.temperature)).toBe(true);

    const letters = await deadLetters("run");
    expect(letters).toHaveLength(bad.length);
    expect(bad.length).toBeGreaterThan(0);
    const sentBodies = new Map(bad.map((s) => [s.body, s]));
    for (const letter of letters) {
      const body = Buffer.from(letter.payload, "base64").toString("utf8");
      const step = sentBodies.get(body);
      expect(step, `dead letter ${body}`).toBeDefined();
      expect(letter.reason).toBe(BAD_PAYLOAD_REASON[step!.variant]);
      expect(letter.subject).toBe(`tide.ingest.1.${step!.device}`);
    }
  });

  it("applies a command on tide.command.1.<device>: cooling_on pulls that device's temperature down, no other's", async () => {
    // Devices that stay well below the edge's cooling threshold, so the only command they get is ours.
    const cold = (seed: number) => createSimulation({ ...base, seed, devices: 2, devicePrefix: "cool" }).devices.every((d) => {
      const { profile } = d.snapshot();
      return profile.baseTemperature + profile.temperatureAmplitude + 1 < DEFAULT_COOLING.onAtOrAbove;
    });
    const seed = [...Array(100).keys()].map((i) => 1000 + i).find(cold)!;
    const config = { ...base, rate: 20, speed: 1200, seed, devices: 2, faulty: 0, anomalyRate: 0, devicePrefix: "cool" };
    const simulator = await startSimulator({ nc, edge: "1", ...config });
    const cool1 = () => simulator.devices().find((d) => d.device === "cool-1")!;
    await eventually(() => cool1().seq, (seq) => seq >= 10, 30_000, "10 readings of cool-1");

    // As the edge's control loop does: a tide.command.issued.v1 event on the device's command subject.
    const command = createEvent({ type: "tide.command.issued.v1", data: { edge: "1", device: "cool-1", command: "cooling_on", decisionId: "test-decision" } }, { source: "tide://test" });
    await appendToStream(nc.jetstream({ domain: DOMAIN }), subjects.command("1", "cool-1"), command);
    const [applied] = await eventually(() => cool1().commands, (commands) => commands.length > 0, 30_000, "the command applied");
    expect(applied).toMatchObject({ action: "cooling_on" });
    const atSeq = applied!.atSeq;
    await eventually(() => cool1().seq, (seq) => seq >= atSeq + 20, 30_000, "20 readings after the command");
    const stats = await simulator.stop();
    expect(stats).toMatchObject({ commands: 1, commandsRejected: 0, failed: 0, unsent: 0 });
    expect(cool1()).toMatchObject({ cooling: true, commands: [{ action: "cooling_on", atSeq }] });

    // stop() lets each device send what it had buffered: everything measured is stored, as the replay says.
    const stored = await storedReadings("cool");
    expect(stored.size).toBe(2 * stats.ticks);
    const replayed = readingsOf(replaySimulation(config, stats.ticks, commandLog(simulator)));
    expect([...stored.values()].sort(byDeviceSeq)).toEqual(replayed.map(asStored).sort(byDeviceSeq));

    // Against the same run without the command: cool-1 is colder from the command on, and only from then; cool-2 is untouched.
    const uncommanded = new Map(readingsOf(replaySimulation(config, stats.ticks)).map((s) => [`${s.device}/${s.seq}`, s]));
    const pulls: number[] = [];
    for (const [key, reading] of stored) {
      const free = uncommanded.get(key)!;
      if (reading.device === "cool-2" || reading.seq! < atSeq) expect(reading, key).toEqual(asStored(free));
      else pulls[reading.seq! - atSeq] = reading.temperature - free.payload.temperature;
    }
    expect(pulls.length).toBeGreaterThanOrEqual(20);
    expect(pulls.every((p) => p < 0)).toBe(true);
    expect(pulls[19]).toBeLessThan(-4);
  });

  it("retries with the same ts and seq while the ingest does not answer, and each reading is stored once", async () => {
    const services = given.fleet.edges.get("1")!;
    await services.ingest.stop();
    const config = { ...base, seed: 44, devices: 2, faulty: 0, devicePrefix: "retry", anomalyRate: 0 };
    const simulator = await startSimulator({ nc, edge: "1", count: 30, timeoutMs: 500, maxRetries: 1000, ...config });
    await eventually(() => simulator.stats().retried, (n) => n >= 4, 30_000, "retries while no ingest answers");
    replacementIngest = startIngest({ nc: services.nc, edge: "1" });
    const stats = await simulator.done;
    expect(stats).toMatchObject({ sent: 60, stored: 60, failed: 0 });
    expect(stats.retried).toBeGreaterThanOrEqual(4);
    const stored = await storedReadings("retry");
    const expected = readingsOf(replaySimulation(config, 30, commandLog(simulator)));
    expect(stored.size).toBe(60);
    for (const s of expected) expect(stored.get(`${s.device}/${s.seq}`)).toEqual(asStored(s));
  });
});

describe("tide simulate", () => {
  const argv = ["--edge", "1", "--devices", "2", "--faulty", "1", "--count", "30", "--rate", "50", "--seed", "5", "--start", "2024-07-01T00:00:00Z", "--speed", "60", "--anomaly-rate", "0.05"];
  const tide = (args: string[]) => exec(process.execPath, [TIDE, "simulate", ...args, "--dir", given.dir], { env: { ...process.env, TIDE_LOG_LEVEL: "silent" } });

  it("runs to --count, prints a summary, and a rerun with the same seed and start stores nothing new", async () => {
    const twin = replaySimulation({ seed: 5, startMs: Date.parse("2024-07-01T00:00:00Z"), devices: 2, faulty: 1, rate: 50, speed: 60, anomalyRate: 0.05 }, 30);
    const readings = twin.filter((s) => s.kind === "reading").length;
    const bad = twin.filter((s) => s.kind === "bad_payload").length;

    const first = await tide(argv);
    expect(first.stdout).toContain("reproduce with: --seed 5 --start 2024-07-01T00:00:00.000Z");
    expect(first.stdout).toContain(`sent ${readings + bad}, stored ${readings}, rejected ${bad}`);
    expect(first.stdout).toMatch(/retried 0, failed 0, dropouts \d+, commands received \d+/);
    expect(first.stderr).toBe("");

    const again = await tide(argv);
    expect(again.stdout).toContain(`stored 0 (+${readings} duplicate)`);
  });

  it.each([
    [[], "--edge is required"],
    [["--edge", "1", "--rate", "0"], "--rate must be above 0"],
    [["--edge", "1", "--rate", "fast"], "--rate must be a finite number"],
    [["--edge", "1", "--devices", "2", "--faulty", "3"], "--faulty must be between 0 and 2"],
    [["--edge", "1", "--anomaly-rate", "1.5"], "--anomaly-rate must be at least 0 and at most 1"],
    [["--edge", "1", "--seed=-1"], "--seed must be between 0 and 4294967295"],
    [["--edge", "1", "--count", "0"], "--count must be between 1"],
    [["--edge", "1", "--duration", "0"], "--duration must be above 0"],
    [["--edge", "1", "--start", "soon"], "--start must be an ISO 8601 time"],
    [["--edge", "Bad!"], "--edge 'Bad!' is not a valid edge id"],
    [["--edge", "1", "--colour", "red"], "colour"],
  ])("refuses %j: %s", (args, message) => {
    expect(() => parseSimulateArgs(args)).toThrow(UsageError);
    expect(() => parseSimulateArgs(args)).toThrow(message);
  });

  it("exits with a usage error (2) and a clear message on a bad value", async () => {
    const failed = await tide(["--edge", "1", "--rate=-3"]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain("--rate must be above 0");
  });
});
