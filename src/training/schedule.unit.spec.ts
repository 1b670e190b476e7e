import { describe, expect, it } from "vitest";
import { parseTrainingConfig } from "./config.ts";
import { decideSchedule } from "./schedule.ts";

const now = Date.parse("2025-01-01T12:00:00Z");
const config = (schedule: object) => parseTrainingConfig({ schedule }).schedule;

describe("decideSchedule", () => {
  it("requests once enough new readings arrived", () => {
    const decision = decideSchedule(config({ everyReadings: 500, everyMinutes: 0 }), { now, newReadings: 500, since: now, inFlight: false });
    expect(decision).toEqual({ request: true, detail: "500 new reading(s) since the last run's data (every 500 readings)" });
    expect(decideSchedule(config({ everyReadings: 500, everyMinutes: 0 }), { now, newReadings: 499, since: now, inFlight: false }).request).toBe(false);
  });

  it("requests every N minutes, but only with new readings", () => {
    const every = config({ everyReadings: 0, everyMinutes: 60 });
    expect(decideSchedule(every, { now, newReadings: 3, since: now - 61 * 60_000, inFlight: false })).toEqual({
      request: true,
      detail: "61 min since the last request, 3 new reading(s) (every 60 min)",
    });
    expect(decideSchedule(every, { now, newReadings: 3, since: now - 59 * 60_000, inFlight: false }).request).toBe(false);
    expect(decideSchedule(every, { now, newReadings: 0, since: now - 600 * 60_000, inFlight: false }).request).toBe(false);
  });

  it("never requests while a run is in flight, and not at all when both are off", () => {
    expect(decideSchedule(config({ everyReadings: 1 }), { now, newReadings: 10, since: 0, inFlight: true }).request).toBe(false);
    expect(decideSchedule(config({ everyReadings: 0, everyMinutes: 0 }), { now, newReadings: 10 ** 6, since: 0, inFlight: false }).request).toBe(false);
  });
});
