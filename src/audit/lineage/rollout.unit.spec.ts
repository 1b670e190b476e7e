import { describe, expect, it } from "vitest";
import { activationAt, type ActivationRecord } from "./rollout.ts";

const at = (edge: string, version: string, time: string, extra: Partial<ActivationRecord> = {}): ActivationRecord => ({ edge, version, status: "activated", at: time, storedAt: time, ...extra });

describe("activationAt", () => {
  const reports = [
    at("1", "v1", "2026-01-01T10:00:00Z", { rolloutId: "r1", cause: "rollout" }),
    at("2", "v1", "2026-01-01T10:01:00Z", { cause: "local" }),
    at("1", "v2", "2026-01-01T11:00:00Z", { rolloutId: "r2", cause: "rollout" }),
    at("1", "v2", "2026-01-01T11:30:00Z", { status: "failed", reason: "digest mismatch" }),
    at("1", "v1", "2026-01-01T12:00:00Z", { rolloutId: "r2", cause: "rollback" }),
  ];

  it("finds the edge's last activation at or before the time, when it is of the version that decided", () => {
    expect(activationAt(reports, "1", "v1", "2026-01-01T10:30:00Z")?.rolloutId).toBe("r1");
    expect(activationAt(reports, "1", "v2", "2026-01-01T11:45:00Z")).toMatchObject({ rolloutId: "r2", cause: "rollout" });
    // After the rollback, v1 runs again because of r2's rollback, not r1.
    expect(activationAt(reports, "1", "v1", "2026-01-01T12:00:00Z")).toMatchObject({ rolloutId: "r2", cause: "rollback" });
    expect(activationAt(reports, "2", "v1", "2026-01-01T10:02:00Z")).toMatchObject({ cause: "local" });
  });

  it("finds none before the first activation, for another version, or for another edge", () => {
    expect(activationAt(reports, "1", "v1", "2026-01-01T09:00:00Z")).toBeUndefined();
    expect(activationAt(reports, "1", "v1", "2026-01-01T11:10:00Z")).toBeUndefined();
    expect(activationAt(reports, "3", "v1", "2026-01-01T12:00:00Z")).toBeUndefined();
  });
});
