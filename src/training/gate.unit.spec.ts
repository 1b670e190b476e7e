import { describe, expect, it } from "vitest";
import { decideGate } from "./gate.ts";

describe("decideGate", () => {
  it("accepts a candidate that beats persistence when there is no production model", () => {
    expect(decideGate({ candidateMae: 0.1, persistenceMae: 0.2, force: false })).toEqual({
      accepted: true,
      reason: "better: candidate 0.1000 °C, persistence 0.2000 °C, no production model",
    });
  });

  it("accepts a candidate that beats both", () => {
    expect(decideGate({ candidateMae: 0.1, persistenceMae: 0.2, production: { version: "v1", mae: 0.15 }, force: false }).accepted).toBe(true);
  });

  it.each([
    ["worse than persistence", 0.25, 0.2, undefined, /not better than persistence \(/],
    ["worse than production", 0.16, 0.2, { version: "v1", mae: 0.15 }, /not better than production v1 \(/],
    ["a tie with production", 0.15, 0.2, { version: "v1", mae: 0.15 }, /not better than production v1/],
    ["worse than both", 0.3, 0.2, { version: "v2", mae: 0.15 }, /not better than persistence and production v2/],
  ])("rejects a candidate %s", (_what, candidateMae, persistenceMae, production, reason) => {
    const verdict = decideGate({ candidateMae, persistenceMae, ...(production ? { production } : {}), force: false });
    expect(verdict.accepted).toBe(false);
    expect(verdict.reason).toMatch(/^rejected: /);
    expect(verdict.reason).toMatch(reason);
  });

  it("accepts a worse candidate when forced, and says so", () => {
    const verdict = decideGate({ candidateMae: 0.3, persistenceMae: 0.2, production: { version: "v1", mae: 0.1 }, force: true });
    expect(verdict.accepted).toBe(true);
    expect(verdict.reason).toMatch(/^forced: not better than persistence and production v1/);
  });
});
