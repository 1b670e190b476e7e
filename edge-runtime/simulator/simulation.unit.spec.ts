import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.ts";
import { ANOMALY } from "./climate.ts";
import type { DeviceStep } from "./device.ts";
import { createSimulation, parseSimulationConfig, planDevices, replaySimulation, type SimulationConfigInput } from "./simulation.ts";

const START = Date.parse("2024-06-01T00:00:00.000Z");
const HOUR = 3_600_000;

function run(config: SimulationConfigInput, ticks: number): DeviceStep[] {
  const simulation = createSimulation(config);
  return Array.from({ length: ticks }, () => simulation.tick()).flat();
}

/** Everything a run sent or skipped, as comparable text. */
const transcript = (steps: DeviceStep[]) => steps.map((s) => `${s.device} ${s.seq} ${s.ts} ${s.kind} ${s.fault ?? "-"} ${"body" in s ? s.body : ""}`);

const faultyFleet: SimulationConfigInput = {
  seed: 7,
  startMs: START,
  devices: 4,
  faulty: 2,
  anomalyRate: 0.01,
  faultRates: { stuck: 0.02, spike: 0.02, dropout: 0.02, badPayload: 0.04 },
};

describe("a simulation", () => {
  it("is the same sequence, faults and anomalies included, for the same seed", () => {
    const a = run(faultyFleet, 3000);
    const b = run(faultyFleet, 3000);
    expect(transcript(b)).toEqual(transcript(a));
    // The control: the run really contains every fault kind and anomalies.
    expect(new Set(a.map((s) => s.fault))).toEqual(new Set([undefined, "stuck", "spike", "dropout", "bad_payload"]));
    expect(a.some((s) => s.anomaly)).toBe(true);
  });

  it("is a different sequence for another seed", () => {
    const a = transcript(run(faultyFleet, 500));
    const b = transcript(run({ ...faultyFleet, seed: 8 }, 500));
    const same = a.filter((line, i) => line === b[i]).length;
    expect(same).toBeLessThan(a.length / 10);
  });

  it("is reproduced from its seed and command log, commands included", () => {
    const live = createSimulation(faultyFleet);
    const steps: DeviceStep[] = [];
    for (let tick = 0; tick < 300; tick++) {
      if (tick === 40) live.device("sim-1")!.command("cooling_on");
      if (tick === 90) live.device("sim-3")!.command("cooling_on");
      if (tick === 200) live.device("sim-1")!.command("cooling_off");
      steps.push(...live.tick());
    }
    const log = new Map(live.devices.map((d) => [d.id, d.snapshot().commands]));
    expect(log.get("sim-1")).toEqual([{ action: "cooling_on", atSeq: 40 }, { action: "cooling_off", atSeq: 200 }]);
    expect(transcript(replaySimulation(faultyFleet, 300, log))).toEqual(transcript(steps));
    // The control: without the log, the commanded devices differ after their first command, and only then.
    const free = replaySimulation(faultyFleet, 300);
    const differs = (device: string) => steps.filter((s, i) => s.device === device && transcript([s])[0] !== transcript([free[i]!])[0]).map((s) => s.seq);
    expect(Math.min(...differs("sim-1"))).toBe(40);
    expect(Math.min(...differs("sim-3"))).toBeGreaterThanOrEqual(90);
    expect(differs("sim-2")).toEqual([]);
  });

  it("gives each device its own stream: faults on a device do not change its true climate", () => {
    const healthy = run({ ...faultyFleet, faulty: 0 }, 2000).filter((s) => s.device === "sim-4");
    const faulty = run(faultyFleet, 2000).filter((s) => s.device === "sim-4");
    expect(faulty.some((s) => s.fault !== undefined)).toBe(true);
    expect(faulty.map((s) => s.truth)).toEqual(healthy.map((s) => s.truth));
  });

  it("timestamps reading k at start + k steps of simulated time, and counts through dropouts", () => {
    const simulation = createSimulation({ ...faultyFleet, rate: 4, speed: 60 });
    expect(simulation.stepMs).toBe(15_000);
    const steps = Array.from({ length: 400 }, () => simulation.tick()).flat();
    for (const s of steps) expect(Date.parse(s.ts)).toBe(START + s.seq * 15_000);
    for (const device of ["sim-1", "sim-4"]) expect(steps.filter((s) => s.device === device).map((s) => s.seq)).toEqual([...Array(400).keys()]);
  });

  it("shows a daily cycle: warm in the afternoon, cool at night, humidity the other way round", () => {
    const simulation = createSimulation({ seed: 3, startMs: START, devices: 1, anomalyRate: 0, speed: 600 }); // one reading per 10 min
    const { profile } = simulation.devices[0]!.snapshot();
    const steps = Array.from({ length: 6 * 24 * 7 }, () => simulation.tick()[0]!).filter((s) => s.kind === "reading");
    const hourOf = (s: DeviceStep) => (Date.parse(s.ts) / HOUR) % 24;
    const near = (hour: number) => steps.filter((s) => Math.abs(((hourOf(s) - hour + 36) % 24) - 12) <= 2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const peak = near(profile.peakHour);
    const trough = near(profile.peakHour + 12);
    const t = (ss: DeviceStep[]) => mean(ss.map((s) => s.truth.temperature));
    const h = (ss: DeviceStep[]) => mean(ss.map((s) => s.truth.humidity));
    expect(t(peak) - t(trough)).toBeGreaterThan(1.5 * profile.temperatureAmplitude);
    expect(h(trough) - h(peak)).toBeGreaterThan(1.5 * profile.humidityAmplitude);
  });

  it("drifts slowly, by the device's drift per day", () => {
    const simulation = createSimulation({ seed: 11, startMs: START, devices: 1, anomalyRate: 0, speed: 3600 }); // hourly
    const { profile } = simulation.devices[0]!.snapshot();
    const days = Array.from({ length: 24 * 31 }, () => simulation.tick()[0]!.truth.temperature);
    const dayMean = (d: number) => days.slice(d * 24, d * 24 + 24).reduce((a, b) => a + b, 0) / 24;
    expect(dayMean(30) - dayMean(0)).toBeCloseTo(30 * profile.temperatureDriftPerDay, 0);
  });

  it("injects anomalies at the configured rate, as humps on top of the same climate", () => {
    const base = { seed: 5, startMs: START, devices: 1, speed: 60 };
    const calm = run({ ...base, anomalyRate: 0 }, 100_000);
    const stormy = run({ ...base, anomalyRate: 0.002 }, 100_000);
    expect(calm.some((s) => s.anomaly)).toBe(false);
    const onsets = stormy.filter((s, i) => s.anomaly && !stormy[i - 1]?.anomaly).length;
    const eligible = stormy.filter((s, i) => !s.anomaly || !stormy[i - 1]?.anomaly).length;
    expect(onsets / eligible).toBeGreaterThan(0.0015);
    expect(onsets / eligible).toBeLessThan(0.0025);
    const deviation = (s: DeviceStep, i: number) => Math.abs(s.truth.temperature - calm[i]!.truth.temperature);
    // Outside anomalies the values are identical; inside, they move by up to ANOMALY.maxDelta.
    expect(stormy.every((s, i) => s.anomaly || deviation(s, i) === 0)).toBe(true);
    const inside = stormy.map((s, i) => (s.anomaly ? deviation(s, i) : -1)).filter((d) => d >= 0);
    expect(Math.max(...inside)).toBeGreaterThan(ANOMALY.minDelta);
    expect(Math.max(...inside)).toBeLessThanOrEqual(ANOMALY.maxDelta + 0.01);
  });
});

describe("simulation options", () => {
  it("name devices <prefix>-N and make the last ones faulty (1 by default when there are several)", () => {
    expect(planDevices(parseSimulationConfig({ seed: 1, startMs: START, devices: 3 }))).toEqual([
      { device: "sim-1", faulty: false },
      { device: "sim-2", faulty: false },
      { device: "sim-3", faulty: true },
    ]);
    expect(parseSimulationConfig({ seed: 1, startMs: START, devices: 1 }).faulty).toBe(0);
  });

  it.each([
    ["more faulty devices than devices", { devices: 2, faulty: 3 }, "faulty"],
    ["fault rates adding up to more than 1", { faultRates: { stuck: 0.5, spike: 0.5, dropout: 0.1, badPayload: 0 } }, "at most 1"],
    ["a negative anomaly rate", { anomalyRate: -0.1 }, "anomalyRate"],
    ["a zero rate", { rate: 0 }, "rate"],
    ["a seed beyond 32 bits", { seed: 2 ** 32 }, "seed"],
    ["a prefix that is no device id", { devicePrefix: "a.b" }, "devicePrefix"],
  ])("refuse %s, naming it", (_, bad, mentioned) => {
    const attempt = () => parseSimulationConfig({ seed: 1, startMs: START, ...bad });
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(mentioned);
  });
});
