import { describe, expect, it } from "vitest";
import { decideCooling, validateCooling, type CoolingInput, type CoolingState } from "./cooling.ts";

const settings = { onAtOrAbove: 26, offAtOrBelow: 24 };
const given = (state: CoolingState) => ({
  when: (input: CoolingInput) => ({ then: (expected: { action: string; cooling: boolean }) => {
    const decision = decideCooling(state, input, settings);
    expect(decision.action).toBe(expected.action);
    expect(decision.state.cooling).toBe(expected.cooling);
    expect(decision.changed).toBe(expected.action !== "hold");
    expect(decision.reason).toContain(input.basis);
  } }),
});

describe("cooling with hysteresis", () => {
  it("turns on at the upper threshold", () => given({ cooling: false }).when({ basis: "baseline", temperature: 26 }).then({ action: "cooling_on", cooling: true }));
  it("holds between the thresholds when off", () => given({ cooling: false }).when({ basis: "model", temperature: 25.9 }).then({ action: "hold", cooling: false }));
  it("holds between the thresholds when on", () => given({ cooling: true }).when({ basis: "model", temperature: 24.1 }).then({ action: "hold", cooling: true }));
  it("turns off at the lower threshold", () => given({ cooling: true }).when({ basis: "baseline", temperature: 24 }).then({ action: "cooling_off", cooling: false }));
  it("does not send on twice", () => given({ cooling: true }).when({ basis: "baseline", temperature: 30 }).then({ action: "hold", cooling: true }));
  it("says which basis decided", () => {
    expect(decideCooling({ cooling: false }, { basis: "model", temperature: 27 }, settings).reason).toMatch(/^model: predicted 27.00/);
  });
  it("rejects thresholds without a gap", () => {
    expect(() => validateCooling({ onAtOrAbove: 24, offAtOrBelow: 24 })).toThrow(/must be below/);
  });
});
