import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createRuleMatcher, loadPolicy, parsePolicy, type Policy, type PolicyResult } from "./policy.ts";

const EXAMPLE = fileURLToPath(new URL("../policy.example.json", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tide-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ok(result: PolicyResult): Policy {
  if (!result.success) throw new Error(`expected a policy, got: ${result.message}`);
  return result.policy;
}
function rejected(result: PolicyResult) {
  if (result.success) throw new Error("expected a rejection");
  return result;
}
const minimal = (extra: Record<string, unknown> = {}) => ({ version: 1, default: { route: "raw" }, ...extra });

describe("the policy file", () => {
  it("accepts the example policy", () => {
    const policy = ok(loadPolicy(EXAMPLE));
    expect(policy.rules.map((r) => [r.name, r.route])).toEqual([
      ["lab-raw", "raw"],
      ["greenhouse-anomalies", "anomalies"],
      ["debug-local", "local"],
    ]);
    expect(policy.default.degrade?.whenDisconnected).toBe(true);
  });

  it("fills defaults: data type climate, every device, 60 s windows, detector and restore settings", () => {
    const policy = ok(parsePolicy(minimal({ rules: [{ name: "r", route: "summary", degrade: { to: "local", whenBacklogAbove: 10 } }] })));
    const rule = policy.rules[0]!;
    expect(rule.match).toEqual({ dataType: "climate", devices: ["*"] });
    expect(rule.summary.windowSeconds).toBe(60);
    expect(rule.anomaly).toEqual({ metrics: ["temperature", "humidity"], alpha: 0.1, warmup: 30, k: 4, minStdDev: 0.05 });
    expect(rule.degrade?.restore).toEqual({ belowFraction: 0.8, forSeconds: 30 });
    expect(policy.default.name).toBe("default");
  });

  it.each([
    ["no default rule", { version: 1, rules: [] }, "default: "],
    ["an unknown version", { ...minimal(), version: 2 }, "version: "],
    ["an unknown route", minimal({ rules: [{ name: "r", route: "cloud" }] }), "rules.0.route: "],
    ["a typo in a key", minimal({ rules: [{ name: "r", route: "raw", degarde: {} }] }), "rules.0: Unrecognized key: \"degarde\""],
    ["an unknown data type", minimal({ rules: [{ name: "r", route: "raw", match: { dataType: "video" } }] }), "rules.0.match.dataType: "],
    ["a bad device glob", minimal({ rules: [{ name: "r", route: "raw", match: { devices: ["a.b"] } }] }), "rules.0.match.devices.0: device glob"],
    ["a degrade without a condition", minimal({ rules: [{ name: "r", route: "raw", degrade: { to: "summary" } }] }), "rules.0.degrade: degrade needs at least one"],
    ["a degrade to its own route", minimal({ rules: [{ name: "r", route: "raw", degrade: { to: "raw", whenDisconnected: true } }] }), "rules.0.degrade.to: degrades to its own route"],
    ["a restore fraction above 1", minimal({ rules: [{ name: "r", route: "raw", degrade: { to: "local", whenRttMsAbove: 100, restore: { belowFraction: 1.5 } } }] }), "rules.0.degrade.restore.belowFraction: "],
    ["a zero summary window", minimal({ rules: [{ name: "r", route: "summary", summary: { windowSeconds: 0 } }] }), "rules.0.summary.windowSeconds: "],
    ["two rules with one name", minimal({ rules: [{ name: "r", route: "raw" }, { name: "r", route: "local" }] }), "rules.1.name: rule name 'r' is used twice"],
    ["a rule named like the default", minimal({ rules: [{ name: "default", route: "local" }] }), "default.name: rule name 'default' is used twice"],
  ])("rejects %s, naming the path", (_what, json, issue) => {
    const result = rejected(parsePolicy(json, "policy x.json"));
    expect(result.reason).toBe("schema");
    expect(result.issues.some((i) => i.startsWith(issue)), result.issues.join("\n")).toBe(true);
    expect(result.message).toContain("policy x.json is invalid: ");
  });

  it("rejects a file that is not JSON, or not there, saying so", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, "{ version: 1");
    expect(rejected(loadPolicy(path))).toMatchObject({ reason: "not_json", message: expect.stringContaining(`policy ${path} is not JSON`) });
    expect(rejected(loadPolicy(join(dir, "missing.json")))).toMatchObject({ reason: "unreadable", message: expect.stringContaining("cannot read policy") });
  });
});

describe("rule matching", () => {
  const policy = ok(
    parsePolicy(
      minimal({
        rules: [
          { name: "lab", match: { devices: ["lab-?"] }, route: "raw" },
          { name: "wide", match: { devices: ["lab-*", "x*"] }, route: "local" },
        ],
        default: { name: "rest", route: "summary" },
      }),
    ),
  );
  const match = createRuleMatcher(policy);

  it("takes the first rule that matches, by glob", () => {
    expect(match("climate", "lab-1").name).toBe("lab");
    expect(match("climate", "lab-12").name).toBe("wide");
    expect(match("climate", "xyz").name).toBe("wide");
  });

  it("falls back to the default rule", () => {
    expect(match("climate", "other").name).toBe("rest");
    expect(match("climate", "ylab-1").name).toBe("rest");
  });
});
