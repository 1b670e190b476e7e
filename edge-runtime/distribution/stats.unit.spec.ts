import { describe, expect, it } from "vitest";
import { createDistributionStats } from "./stats.ts";
import type { Decision } from "./router.ts";

const decision = (rule: string, route: Decision["route"], forward: boolean): Decision => ({
  rule,
  dataType: "climate",
  route,
  forward,
  degraded: false,
  anomalous: forward && route === "anomalies",
  windowSeconds: 60,
});

describe("distribution stats", () => {
  it("counts per (data type, rule, route) and forwarded, one interval at a time", () => {
    let clock = Date.parse("2024-06-01T10:00:00Z");
    const stats = createDistributionStats("1", () => clock);
    stats.count(decision("lab", "raw", true));
    stats.count(decision("lab", "raw", true));
    stats.count(decision("lab", "summary", false));
    stats.count(decision("gh", "anomalies", false));
    stats.count(decision("gh", "anomalies", true));
    clock += 10_000;
    expect(stats.take()).toEqual({
      edge: "1",
      windowStart: "2024-06-01T10:00:00.000Z",
      windowEnd: "2024-06-01T10:00:10.000Z",
      counts: [
        { dataType: "climate", rule: "lab", route: "raw", readings: 2, forwarded: 2 },
        { dataType: "climate", rule: "lab", route: "summary", readings: 1, forwarded: 0 },
        { dataType: "climate", rule: "gh", route: "anomalies", readings: 2, forwarded: 1 },
      ],
    });
    stats.count(decision("lab", "raw", true));
    clock += 5_000;
    expect(stats.take()).toMatchObject({ windowStart: "2024-06-01T10:00:10.000Z", counts: [{ rule: "lab", readings: 1 }] });
    expect(stats.totals()).toEqual({ readings: 6, forwarded: 4 });
  });

  it("has nothing to say for an interval without readings", () => {
    const stats = createDistributionStats("1");
    expect(stats.take()).toBeUndefined();
  });
});
