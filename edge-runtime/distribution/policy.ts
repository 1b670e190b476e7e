import { readFileSync } from "node:fs";
import { z } from "zod";
import { formatIssues, Route } from "../../src/events/index.ts";
import { errorMessage } from "../../src/errors.ts";

/** Reading types a rule can match. Climate is the only one Tide ingests today. */
export const DataType = z.enum(["climate"]);
export type DataType = z.infer<typeof DataType>;

/** The metrics of a climate reading that summaries and the anomaly detector look at. */
export const Metric = z.enum(["temperature", "humidity"]);
export type Metric = z.infer<typeof Metric>;

const Summary = z.strictObject({
  /** Summary window length; windows are aligned to the epoch, by reading time. */
  windowSeconds: z.number().int().positive().max(86_400).default(60),
});

/** The streaming detector of the `anomalies` route: per device and metric, an EWMA of mean and variance. */
const Anomaly = z.strictObject({
  metrics: z.array(Metric).min(1).default(["temperature", "humidity"]),
  /** EWMA weight of a new reading (0 < alpha <= 1). */
  alpha: z.number().gt(0).lte(1).default(0.1),
  /** Readings a device must send before any is judged. */
  warmup: z.number().int().min(2).default(30),
  /** A reading is anomalous when a metric is more than k standard deviations from its mean. */
  k: z.number().positive().default(4),
  /** Floor of the standard deviation, so a flat sensor is not flagged for noise. */
  minStdDev: z.number().nonnegative().default(0.05),
});

const Restore = z.strictObject({
  /** Restore only once every measured value is at or below this fraction of its threshold. */
  belowFraction: z.number().gt(0).lte(1).default(0.8),
  /** ... continuously, for this long. */
  forSeconds: z.number().nonnegative().default(30),
});

const Degrade = z
  .strictObject({
    to: Route,
    whenDisconnected: z.boolean().optional(),
    whenRttMsAbove: z.number().positive().optional(),
    whenBacklogAbove: z.number().int().nonnegative().optional(),
    restore: Restore.prefault({}),
  })
  .refine((d) => d.whenDisconnected === true || d.whenRttMsAbove !== undefined || d.whenBacklogAbove !== undefined, {
    message: "degrade needs at least one of whenDisconnected: true, whenRttMsAbove, whenBacklogAbove",
  });

const ruleBody = {
  route: Route,
  summary: Summary.prefault({}),
  anomaly: Anomaly.prefault({}),
  degrade: Degrade.optional(),
};

const RuleName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "rule name: 1-64 of A-Z, a-z, 0-9, '_', '.', '-'");
const DeviceGlob = z.string().regex(/^[A-Za-z0-9_*?-]{1,64}$/, "device glob: device id characters plus * and ?");

/** One rule: which readings it takes (`match`) and where they go. */
export const Rule = z.strictObject({
  name: RuleName,
  match: z
    .strictObject({ dataType: DataType.default("climate"), devices: z.array(DeviceGlob).min(1).default(["*"]) })
    .prefault({}),
  ...ruleBody,
});
export type Rule = z.infer<typeof Rule>;

/** The rule that applies when no other matches: same settings, no `match`. */
export const DefaultRule = z.strictObject({ name: RuleName.default("default"), ...ruleBody });

/**
 * The policy file of one edge. Rules are tried in order, the first match wins;
 * the `default` rule takes every reading no rule matched.
 */
export const Policy = z
  .strictObject({ version: z.literal(1), rules: z.array(Rule).default([]), default: DefaultRule })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    for (const [i, rule] of [...policy.rules, policy.default].entries()) {
      const path = i < policy.rules.length ? ["rules", i] : ["default"];
      if (seen.has(rule.name)) ctx.addIssue({ code: "custom", path: [...path, "name"], message: `rule name '${rule.name}' is used twice` });
      seen.add(rule.name);
      if (rule.degrade?.to === rule.route) ctx.addIssue({ code: "custom", path: [...path, "degrade", "to"], message: `degrades to its own route '${rule.route}'` });
    }
  });
/** A validated policy; every rule, the default included, has the shape of `PolicyRule`. */
export type Policy = z.infer<typeof Policy>;
/** A rule as the router uses it: a `rules` entry, or the default (which has no `match`). */
export type PolicyRule = Policy["default"] & { match?: Rule["match"] };

/** A loaded policy, or why the file was refused (issues as `path: message`). */
export type PolicyResult =
  | { success: true; policy: Policy }
  | { success: false; reason: "unreadable" | "not_json" | "schema"; message: string; issues: string[] };

/** Validate a parsed policy document; issues name their path (`rules.1.degrade.to: ...`). */
export function parsePolicy(json: unknown, origin = "policy"): PolicyResult {
  const parsed = Policy.safeParse(json);
  if (parsed.success) return { success: true, policy: Object.freeze(parsed.data) };
  const issues = formatIssues(parsed.error);
  return { success: false, reason: "schema", message: `${origin} is invalid: ${issues.join("; ")}`, issues };
}

/** Parse policy text (JSON). */
export function parsePolicyText(text: string, origin = "policy"): PolicyResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { success: false, reason: "not_json", message: `${origin} is not JSON: ${errorMessage(error)}`, issues: [] };
  }
  return parsePolicy(json, origin);
}

/** Read and validate the policy file at `path`. Never throws: a bad file is a `success: false` with the reason. */
export function loadPolicy(path: string): PolicyResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { success: false, reason: "unreadable", message: `cannot read policy ${path}: ${errorMessage(error)}`, issues: [] };
  }
  return parsePolicyText(text, `policy ${path}`);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/**
 * The rule of `(dataType, device)`: the first rule whose data type and one of
 * whose device globs match, else the default. Answers are cached per device.
 */
export function createRuleMatcher(policy: Policy): (dataType: DataType, device: string) => PolicyRule {
  const compiled = policy.rules.map((rule) => ({ rule, dataType: rule.match.dataType, globs: rule.match.devices.map(globToRegExp) }));
  const cache = new Map<string, PolicyRule>();
  return (dataType, device) => {
    const key = `${dataType}\u0000${device}`;
    let rule = cache.get(key);
    if (!rule) {
      rule = compiled.find((c) => c.dataType === dataType && c.globs.some((g) => g.test(device)))?.rule ?? policy.default;
      if (cache.size > 100_000) cache.clear();
      cache.set(key, rule);
    }
    return rule;
  };
}
