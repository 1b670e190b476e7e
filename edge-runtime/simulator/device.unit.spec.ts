import { describe, expect, it } from "vitest";
import { COOLING } from "./climate.ts";
import { createSimulatedDevice, type SimulatedDeviceOptions } from "./device.ts";

// Values have a resolution of 0.01 °C, so a difference of two of them may wobble by one step.
const RESOLUTION = 0.0101;
const options: SimulatedDeviceOptions = { seed: 9, device: "sim-1", startMs: Date.parse("2024-06-01T00:00:00.000Z"), stepMs: 60_000, anomalyRate: 0 };

/** Temperatures reported by a device, applying `commands` before the reading with the given seq. */
function temperatures(readings: number, commands: Record<number, Parameters<ReturnType<typeof createSimulatedDevice>["command"]>[0]> = {}): number[] {
  const device = createSimulatedDevice(options);
  return Array.from({ length: readings }, (_, seq) => {
    const command = commands[seq];
    if (command) device.command(command);
    const step = device.next();
    if (step.kind !== "reading") throw new Error("a healthy device only sends readings");
    return step.payload.temperature;
  });
}

describe("a simulated device's cooling", () => {
  const free = temperatures(120);

  it("pulls the temperature down after cooling_on, towards COOLING.depth below where it would be", () => {
    const cooled = temperatures(120, { 20: "cooling_on" });
    expect(cooled.slice(0, 20)).toEqual(free.slice(0, 20));
    const pull = cooled.map((t, i) => t - free[i]!);
    for (let i = 21; i < 120; i++) expect(pull[i]!).toBeLessThan(pull[i - 1]! + RESOLUTION);
    expect(pull[20]!).toBeLessThan(0);
    expect(pull[119]!).toBeCloseTo(-COOLING.depth, 0);
  });

  it("lets it rise again after cooling_off", () => {
    const cycled = temperatures(120, { 10: "cooling_on", 40: "cooling_off" });
    const pull = cycled.map((t, i) => t - free[i]!);
    expect(pull[39]!).toBeLessThan(-3);
    for (let i = 41; i < 120; i++) expect(pull[i]!).toBeGreaterThan(pull[i - 1]! - RESOLUTION);
    expect(pull[119]!).toBeCloseTo(0, 0);
  });

  it("keeps its state on hold, and records each command with the seq it acted from", () => {
    const held = temperatures(60, { 10: "cooling_on", 30: "hold" });
    const cooled = temperatures(60, { 10: "cooling_on" });
    expect(held).toEqual(cooled);
    expect(temperatures(60, { 10: "hold" })).toEqual(free.slice(0, 60));

    const device = createSimulatedDevice(options);
    for (let i = 0; i < 5; i++) device.next();
    device.command("cooling_on");
    device.next();
    device.command("hold");
    expect(device.snapshot()).toMatchObject({ device: "sim-1", faulty: false, seq: 6, cooling: true, commands: [{ action: "cooling_on", atSeq: 5 }, { action: "hold", atSeq: 6 }] });
    expect(device.snapshot().coolingOffset).toBeLessThan(0);
  });
});
