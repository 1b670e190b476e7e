import { describe, expect, it } from "vitest";
import { parseReading } from "../ingest/parse-reading.ts";
import type { DeviceStep } from "./device.ts";
import { DEFAULT_FAULT_RATES, FAULT_EPISODE, SPIKE, type FaultRates } from "./faults.ts";
import { BAD_PAYLOAD_REASON, BAD_PAYLOAD_VARIANTS } from "./payload.ts";
import { createSimulation } from "./simulation.ts";

const START = Date.parse("2024-06-01T00:00:00.000Z");
const encoder = new TextEncoder();

function faultySensor(faultRates: FaultRates, ticks: number, seed = 21): DeviceStep[] {
  const simulation = createSimulation({ seed, startMs: START, devices: 1, faulty: 1, faultRates, anomalyRate: 0 });
  return Array.from({ length: ticks }, () => simulation.tick()[0]!);
}

const ingest = (step: DeviceStep & { body: string }) => parseReading("1", `tide.ingest.1.${step.device}`, undefined, encoder.encode(step.body));

/** Start and end index of each run of steps with the same fault. */
function episodes(steps: DeviceStep[], fault: "stuck" | "dropout"): DeviceStep[][] {
  const runs: DeviceStep[][] = [];
  for (const step of steps) {
    if (step.fault !== fault) continue;
    if (step.onset) runs.push([]);
    runs.at(-1)!.push(step);
  }
  return runs;
}

describe("a faulty sensor", () => {
  const rates: FaultRates = { stuck: 0.02, spike: 0.03, dropout: 0.015, badPayload: 0.025 };
  const steps = faultySensor(rates, 200_000);

  it.each([
    ["stuck", rates.stuck],
    ["spike", rates.spike],
    ["dropout", rates.dropout],
    ["bad_payload", rates.badPayload],
  ] as const)("starts '%s' faults at the configured rate (%s per reading)", (kind, p) => {
    // A new fault can start on any reading that is not inside a stuck or dropout episode.
    const eligible = steps.filter((s) => s.fault === undefined || s.onset).length;
    const onsets = steps.filter((s) => s.fault === kind && s.onset).length;
    const sigma = Math.sqrt((p * (1 - p)) / eligible);
    expect(Math.abs(onsets / eligible - p)).toBeLessThan(4 * sigma);
  });

  it("repeats one exact value while stuck, for episodes of the configured length", () => {
    const runs = episodes(steps, "stuck");
    expect(runs.length).toBeGreaterThan(100);
    for (const run of runs) {
      expect(run.length).toBeGreaterThanOrEqual(FAULT_EPISODE.stuck.min);
      expect(run.length).toBeLessThanOrEqual(FAULT_EPISODE.stuck.max);
      const values = new Set(run.map((s) => (s.kind === "reading" ? `${s.payload.temperature}/${s.payload.humidity}` : "not a reading")));
      expect(values.size).toBe(1);
    }
    // The truth goes on moving underneath.
    expect(runs.some((run) => new Set(run.map((s) => s.truth.temperature)).size > 1)).toBe(true);
  });

  it("sends nothing during a dropout, and its seq jumps over it", () => {
    const runs = episodes(steps, "dropout");
    expect(runs.length).toBeGreaterThan(100);
    for (const run of runs) {
      expect(run.length).toBeGreaterThanOrEqual(FAULT_EPISODE.dropout.min);
      expect(run.length).toBeLessThanOrEqual(FAULT_EPISODE.dropout.max);
      expect(run.every((s) => s.kind === "dropout" && !("body" in s))).toBe(true);
    }
    const sent = steps.filter((s) => s.kind !== "dropout").map((s) => s.seq);
    expect(sent.length).toBeLessThan(steps.length);
    expect(sent.some((seq, i) => i > 0 && seq - sent[i - 1]! > 1)).toBe(true);
  });

  it("spikes far from the true value, but within the sensor's range: the ingest stores them", () => {
    const spikes = steps.filter((s) => s.fault === "spike");
    expect(spikes.length).toBeGreaterThan(1000);
    for (const s of spikes) {
      if (s.kind !== "reading") throw new Error("a spike is a reading");
      const jump = Math.max(Math.abs(s.payload.temperature - s.truth.temperature), Math.abs(s.payload.humidity - s.truth.humidity));
      expect(jump).toBeGreaterThanOrEqual(SPIKE.minDelta - 0.01);
      const parsed = ingest(s);
      expect(parsed.success && parsed.reading).toMatchObject({ temperature: s.payload.temperature, humidity: s.payload.humidity, seq: s.seq });
    }
  });

  it("sends every kind of bad payload, and the ingest rejects each for the documented reason", () => {
    const bad = steps.filter((s): s is Extract<DeviceStep, { kind: "bad_payload" }> => s.kind === "bad_payload");
    expect(new Set(bad.map((s) => s.variant))).toEqual(new Set(BAD_PAYLOAD_VARIANTS));
    for (const s of bad) {
      const parsed = ingest(s);
      expect(parsed.success, `${s.variant}: ${s.body}`).toBe(false);
      if (!parsed.success) expect(parsed.reason, `${s.variant}: ${s.body}`).toBe(BAD_PAYLOAD_REASON[s.variant]);
    }
  });

  it("sends valid readings otherwise (stuck ones too), exactly as generated", () => {
    const readings = steps.filter((s): s is Extract<DeviceStep, { kind: "reading" }> => s.kind === "reading");
    for (const s of readings.slice(0, 20_000)) {
      const parsed = ingest(s);
      expect(parsed.success && parsed.reading).toEqual({ edge: "1", device: "sim-1", ts: s.ts, seq: s.seq, temperature: s.payload.temperature, humidity: s.payload.humidity });
    }
  });
});

describe("fault rates", () => {
  it("of zero give a sensor without faults", () => {
    const steps = faultySensor({ stuck: 0, spike: 0, dropout: 0, badPayload: 0 }, 20_000);
    expect(steps.every((s) => s.fault === undefined && s.kind === "reading")).toBe(true);
  });

  it("default to a few percent per reading, and healthy devices never have faults", () => {
    const simulation = createSimulation({ seed: 4, startMs: START, devices: 3 });
    expect(simulation.config.faultRates).toEqual(DEFAULT_FAULT_RATES);
    const steps = Array.from({ length: 20_000 }, () => simulation.tick()).flat();
    expect(steps.filter((s) => s.device !== "sim-3").every((s) => s.fault === undefined)).toBe(true);
    const faulty = steps.filter((s) => s.device === "sim-3" && s.onset).length;
    const total = DEFAULT_FAULT_RATES.stuck + DEFAULT_FAULT_RATES.spike + DEFAULT_FAULT_RATES.dropout + DEFAULT_FAULT_RATES.badPayload;
    expect(faulty / 20_000).toBeGreaterThan(total * 0.7);
    expect(faulty / 20_000).toBeLessThan(total * 1.1);
  });
});
