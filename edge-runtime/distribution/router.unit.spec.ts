import { describe, expect, it } from "vitest";
import type { ReadingData } from "../../src/events/index.ts";
import { parsePolicy, type Policy } from "./policy.ts";
import { createRouter, type Decision, type LinkState, type ModeChange } from "./router.ts";

function policy(json: Record<string, unknown>): Policy {
  const result = parsePolicy({ version: 1, default: { route: "local" }, ...json });
  if (!result.success) throw new Error(result.message);
  return result.policy;
}

const UP: LinkState = { connected: true, rttMs: 5, backlog: 0 };
const DOWN: LinkState = { connected: false, backlog: 0 };
const reading = (device: string, temperature = 20, humidity = 50): ReadingData => ({ edge: "1", device, ts: "2024-06-01T10:00:00.000Z", temperature, humidity });

/**
 * given a policy and the link observations so far, when a link sample or a
 * reading arrives, then these mode changes / this decision.
 */
function given(p: Policy, ...history: [LinkState, number][]) {
  const router = createRouter(p);
  for (const [link, at] of history) router.observe(link, at);
  return {
    router,
    whenLink: (link: LinkState, at: number) => ({
      then: (expected: Partial<ModeChange>[]) => expect(router.observe(link, at)).toEqual(expected.map((c) => expect.objectContaining(c))),
    }),
    whenReading: (r: ReadingData, link: LinkState = UP, at = 0) => {
      const result = router.decide(r, link, at);
      return {
        then: (expected: Partial<Decision>, changes: Partial<ModeChange>[] = []) => {
          expect(result.decision).toMatchObject(expected);
          expect(result.changes).toEqual(changes.map((c) => expect.objectContaining(c)));
        },
      };
    },
  };
}

const rawOrSummary = (degrade: Record<string, unknown>) => policy({ rules: [{ name: "lab", match: { devices: ["lab-*"] }, route: "raw", summary: { windowSeconds: 30 }, degrade: { to: "summary", ...degrade } }] });

describe("router: routes by the first matching rule", () => {
  const p = policy({
    rules: [
      { name: "raw", match: { devices: ["r-*"] }, route: "raw" },
      { name: "sum", match: { devices: ["s-*"] }, route: "summary", summary: { windowSeconds: 120 } },
      { name: "loc", match: { devices: ["r-local"] }, route: "local" },
    ],
  });
  it("raw readings go up", () => given(p).whenReading(reading("r-1")).then({ rule: "raw", route: "raw", forward: true, degraded: false }));
  it("summary readings stay local, with their window", () => given(p).whenReading(reading("s-1")).then({ rule: "sum", route: "summary", forward: false, windowSeconds: 120 }));
  it("an earlier rule shadows a later one", () => given(p).whenReading(reading("r-local")).then({ rule: "raw", forward: true }));
  it("the default takes the rest", () => given(p).whenReading(reading("other")).then({ rule: "default", route: "local", forward: false, dataType: "climate" }));
});

describe("router: degrades on a cut link and restores with hysteresis", () => {
  const p = rawOrSummary({ whenDisconnected: true, restore: { forSeconds: 5 } });

  it("given a connected link, when it goes down, then raw -> summary", () =>
    given(p, [UP, 0]).whenLink(DOWN, 1000).then([{ rule: "lab", from: "raw", to: "summary", reason: "uplink disconnected", link: DOWN }]));

  it("given a cut link, readings are routed per the degraded mode", () =>
    given(p, [DOWN, 0]).whenReading(reading("lab-1"), DOWN, 100).then({ rule: "lab", route: "summary", forward: false, degraded: true }));

  it("a reading that meets a cut link first degrades the rule itself", () =>
    given(p).whenReading(reading("lab-1"), DOWN, 0).then({ route: "summary", degraded: true }, [{ from: "raw", to: "summary" }]));

  it("given a cut link, when it comes back, nothing changes before the hold time", () => given(p, [DOWN, 0], [UP, 1000]).whenLink(UP, 5999).then([]));

  it("given a cut link back for the hold time, then summary -> raw", () =>
    given(p, [DOWN, 0], [UP, 1000]).whenLink(UP, 6000).then([{ from: "summary", to: "raw", reason: "uplink connected for 5 s" }]));

  it("a new cut during the hold time starts the wait again", () => {
    const scenario = given(p, [DOWN, 0], [UP, 1000], [DOWN, 3000], [UP, 4000]);
    scenario.whenLink(UP, 8999).then([]);
    scenario.whenLink(UP, 9000).then([{ from: "summary", to: "raw" }]);
  });
});

describe("router: degrades on RTT and backlog thresholds", () => {
  const p = rawOrSummary({ whenRttMsAbove: 300, whenBacklogAbove: 100, restore: { belowFraction: 0.8, forSeconds: 2 } });

  it("RTT above the threshold degrades, naming it", () =>
    given(p, [UP, 0]).whenLink({ connected: true, rttMs: 420, backlog: 0 }, 1).then([{ to: "summary", reason: "rtt 420 ms > 300 ms" }]));

  it("backlog above the threshold degrades, naming it", () =>
    given(p, [UP, 0]).whenLink({ connected: true, rttMs: 5, backlog: 101 }, 1).then([{ to: "summary", reason: "backlog 101 > 100" }]));

  it("at the threshold nothing happens", () => given(p, [UP, 0]).whenLink({ connected: true, rttMs: 300, backlog: 100 }, 1).then([]));

  it("RTT back under the threshold but above 80% of it does not restore", () =>
    given(p, [{ connected: true, rttMs: 420, backlog: 0 }, 0]).whenLink({ connected: true, rttMs: 250, backlog: 0 }, 60_000).then([]));

  it("RTT and backlog at or under 80% for the hold time restore", () =>
    given(p, [{ connected: true, rttMs: 420, backlog: 0 }, 0], [{ connected: true, rttMs: 240, backlog: 80 }, 1000])
      .whenLink({ connected: true, rttMs: 100, backlog: 3 }, 3000)
      .then([{ from: "summary", to: "raw", reason: "rtt 100 ms <= 240 ms, backlog 3 <= 80 for 2 s" }]));

  it("an unmeasured RTT is no evidence: the rule stays degraded", () =>
    given(p, [{ connected: true, rttMs: 420, backlog: 0 }, 0]).whenLink({ connected: true, backlog: 0 }, 60_000).then([]));

  it("an RTT-only rule does not degrade just because the link is down (no RTT measured)", () =>
    given(rawOrSummary({ whenRttMsAbove: 300 }), [UP, 0]).whenLink(DOWN, 1).then([]));
});

describe("router: anomalies forwards only what its detector flags", () => {
  const p = policy({ rules: [{ name: "ano", route: "anomalies", anomaly: { warmup: 10, k: 4, alpha: 0.2, minStdDev: 0.1, metrics: ["temperature"] } }] });
  const warm = (router: ReturnType<typeof given>["router"], n = 20) => {
    for (let i = 0; i < n; i++) expect(router.decide(reading("a", 20 + Math.sin(i) * 0.5), UP, i).decision.forward).toBe(false);
  };

  it("given a warmed-up device, a normal reading stays local", () => {
    const scenario = given(p);
    warm(scenario.router);
    scenario.whenReading(reading("a", 20.3)).then({ route: "anomalies", anomalous: false, forward: false });
  });

  it("given a warmed-up device, a spike is forwarded raw, and so is the next spike", () => {
    const scenario = given(p);
    warm(scenario.router);
    scenario.whenReading(reading("a", 35)).then({ anomalous: true, forward: true });
    scenario.whenReading(reading("a", 20.1)).then({ anomalous: false, forward: false });
    scenario.whenReading(reading("a", 5)).then({ anomalous: true, forward: true });
  });

  it("nothing is judged during warm-up, and devices are judged apart", () => {
    const scenario = given(p);
    for (let i = 0; i < 9; i++) scenario.router.decide(reading("b", 20), UP, i);
    scenario.whenReading(reading("b", 90)).then({ anomalous: false, forward: false });
    scenario.whenReading(reading("c", 90)).then({ anomalous: false });
  });

  it("a metric the rule does not watch is ignored", () => {
    const scenario = given(p);
    warm(scenario.router);
    scenario.whenReading(reading("a", 20, 99)).then({ anomalous: false });
  });
});

describe("router: policy reload", () => {
  const degraded = rawOrSummary({ whenDisconnected: true });

  it("a rule that keeps its name and routes keeps its mode", () => {
    const scenario = given(degraded, [DOWN, 0]);
    expect(scenario.router.setPolicy(rawOrSummary({ whenDisconnected: true, whenBacklogAbove: 5 }), DOWN, 1)).toEqual([]);
    expect(scenario.router.modes().lab).toMatchObject({ route: "summary", degraded: true });
  });

  it("a degraded rule whose routes changed goes to its new route", () => {
    const scenario = given(degraded, [DOWN, 0]);
    const next = policy({ rules: [{ name: "lab", match: { devices: ["lab-*"] }, route: "local" }] });
    expect(scenario.router.setPolicy(next, DOWN, 1)).toEqual([expect.objectContaining({ rule: "lab", from: "summary", to: "local", reason: "policy reloaded" })]);
    scenario.whenReading(reading("lab-1"), DOWN, 2).then({ route: "local", degraded: false });
  });

  it("a new degrade rule meets the current link at once", () => {
    const scenario = given(policy({ rules: [{ name: "lab", route: "raw" }] }), [DOWN, 0]);
    expect(scenario.router.setPolicy(degraded, DOWN, 1)).toEqual([expect.objectContaining({ rule: "lab", from: "raw", to: "summary" })]);
    expect(scenario.router.policy()).toBe(degraded);
  });
});
