import type { ReadingData, Route } from "../../src/events/index.ts";
import { judge, type DeviceEstimates } from "./anomaly.ts";
import { createRuleMatcher, type DataType, type Policy, type PolicyRule } from "./policy.ts";

/** The uplink as the link monitor last measured it. */
export interface LinkState {
  connected: boolean;
  /** Round trip to the hub's JetStream; absent when it could not be measured. */
  rttMs?: number;
  /** Messages in UPLINK the cloud has not taken yet. */
  backlog: number;
}

/** A rule's mode: normal, or degraded since some condition held and not yet calm long enough to restore. */
export type RuleMode = { degraded: false } | { degraded: true; reason: string; calmSince: number | undefined };

/** A rule switching route: what `tide.distribution.mode_changed.v1` records. */
export interface ModeChange {
  rule: string;
  from: Route;
  to: Route;
  reason: string;
  link: LinkState;
}

/** Where one reading goes and why. */
export interface Decision {
  rule: string;
  dataType: DataType;
  /** The route in force: the rule's own, or its degraded one. */
  route: Route;
  /** True when the reading goes to UPLINK raw (stored on `...<device>.up`). */
  forward: boolean;
  degraded: boolean;
  anomalous: boolean;
  /** Window of the summary route, when `route` is `summary`. */
  windowSeconds: number;
}

const NORMAL: RuleMode = { degraded: false };
const NO_CHANGES: readonly ModeChange[] = Object.freeze([]);
const round = (ms: number) => Math.round(ms * 10) / 10;

function triggers(rule: PolicyRule, link: LinkState): string[] {
  const d = rule.degrade;
  if (!d) return [];
  const out: string[] = [];
  if (d.whenDisconnected && !link.connected) out.push("uplink disconnected");
  if (d.whenRttMsAbove !== undefined && link.rttMs !== undefined && link.rttMs > d.whenRttMsAbove) out.push(`rtt ${round(link.rttMs)} ms > ${d.whenRttMsAbove} ms`);
  if (d.whenBacklogAbove !== undefined && link.backlog > d.whenBacklogAbove) out.push(`backlog ${link.backlog} > ${d.whenBacklogAbove}`);
  return out;
}

/** Why the link is calm enough to restore, or undefined when it is not: an unmeasured RTT is never calm. */
function calm(rule: PolicyRule, link: LinkState): string | undefined {
  const d = rule.degrade;
  if (!d) return "rule has no degrade";
  const f = d.restore.belowFraction;
  const out: string[] = [];
  if (d.whenDisconnected) {
    if (!link.connected) return undefined;
    out.push("uplink connected");
  }
  if (d.whenRttMsAbove !== undefined) {
    if (!link.connected || link.rttMs === undefined || link.rttMs > f * d.whenRttMsAbove) return undefined;
    out.push(`rtt ${round(link.rttMs)} ms <= ${round(f * d.whenRttMsAbove)} ms`);
  }
  if (d.whenBacklogAbove !== undefined) {
    if (link.backlog > f * d.whenBacklogAbove) return undefined;
    out.push(`backlog ${link.backlog} <= ${Math.floor(f * d.whenBacklogAbove)}`);
  }
  return out.join(", ");
}

/**
 * The mode decider (pure): degrade as soon as a declared condition holds;
 * restore once every declared measure has stayed at or below `belowFraction`
 * of its threshold for `forSeconds`. In between, the mode holds.
 */
export function evaluateMode(rule: PolicyRule, mode: RuleMode, link: LinkState, now: number): { mode: RuleMode; change?: ModeChange } {
  const d = rule.degrade;
  if (!d) return { mode: NORMAL };
  if (!mode.degraded) {
    const why = triggers(rule, link);
    if (why.length === 0) return { mode };
    const reason = why.join(", ");
    return { mode: { degraded: true, reason, calmSince: undefined }, change: { rule: rule.name, from: rule.route, to: d.to, reason, link } };
  }
  const quiet = triggers(rule, link).length === 0 ? calm(rule, link) : undefined;
  if (quiet === undefined) return { mode: mode.calmSince === undefined ? mode : { ...mode, calmSince: undefined } };
  const calmSince = mode.calmSince ?? now;
  if (now - calmSince < d.restore.forSeconds * 1000) return { mode: mode.calmSince === calmSince ? mode : { ...mode, calmSince } };
  const reason = `${quiet} for ${d.restore.forSeconds} s`;
  return { mode: NORMAL, change: { rule: rule.name, from: d.to, to: rule.route, reason, link } };
}

/** The route in force for a rule in a mode. */
export function effectiveRoute(rule: PolicyRule, mode: RuleMode): Route {
  return mode.degraded && rule.degrade ? rule.degrade.to : rule.route;
}

const usesAnomalies = (rule: PolicyRule) => rule.route === "anomalies" || rule.degrade?.to === "anomalies";
const sameShape = (a: PolicyRule, b: PolicyRule) => a.route === b.route && a.degrade?.to === b.degrade?.to;

/**
 * The routing decider of one edge: no I/O, no clock (callers pass `now`), so
 * the same inputs give the same decisions. It keeps each rule's mode and each
 * device's anomaly estimates; callers append the mode changes it returns.
 */
export function createRouter(initial: Policy) {
  let policy = initial;
  let match = createRuleMatcher(policy);
  let byName = new Map<string, PolicyRule>([...policy.rules, policy.default].map((r) => [r.name, r]));
  const modes = new Map<string, RuleMode>();
  const estimates = new Map<string, DeviceEstimates>();
  // The link a rule was last evaluated against: a reading under the same sample costs no re-evaluation.
  let lastLink: LinkState | undefined;

  function evaluate(rule: PolicyRule, link: LinkState, now: number, changes: ModeChange[]): void {
    const result = evaluateMode(rule, modes.get(rule.name) ?? NORMAL, link, now);
    if (result.mode.degraded) modes.set(rule.name, result.mode);
    else modes.delete(rule.name);
    if (result.change) changes.push(result.change);
  }

  function observe(link: LinkState, now: number): ModeChange[] {
    lastLink = link;
    const changes: ModeChange[] = [];
    for (const rule of byName.values()) if (rule.degrade) evaluate(rule, link, now, changes);
    return changes;
  }

  return {
    /**
     * Route one reading under the link as it is now. A link not seen before is
     * first observed (see `observe`); `changes` are the mode switches that caused.
     */
    decide(reading: ReadingData, link: LinkState, now: number): { decision: Decision; changes: readonly ModeChange[] } {
      const dataType: DataType = "climate";
      const rule = match(dataType, reading.device);
      const changes = link === lastLink ? NO_CHANGES : observe(link, now);
      const mode = modes.get(rule.name) ?? NORMAL;
      const route = effectiveRoute(rule, mode);
      let anomalous = false;
      if (usesAnomalies(rule)) {
        const key = `${rule.name}\u0000${reading.device}`;
        const judged = judge(estimates.get(key) ?? {}, reading, rule.anomaly);
        estimates.set(key, judged.estimates);
        anomalous = judged.anomalous;
      }
      const forward = route === "raw" || (route === "anomalies" && anomalous);
      return { decision: { rule: rule.name, dataType, route, forward, degraded: mode.degraded, anomalous, windowSeconds: rule.summary.windowSeconds }, changes };
    },
    /** A new link measurement: re-evaluate every rule that can degrade. */
    observe,
    /**
     * Swap the policy. A rule keeps its mode when it keeps its name, route and
     * degraded route; a degraded rule that changed goes to its new route (a
     * change with reason `policy reloaded`). Then every rule meets the link.
     */
    setPolicy(next: Policy, link: LinkState, now: number): ModeChange[] {
      const nextByName = new Map<string, PolicyRule>([...next.rules, next.default].map((r) => [r.name, r]));
      const changes: ModeChange[] = [];
      for (const [name, mode] of modes) {
        const before = byName.get(name);
        const after = nextByName.get(name);
        if (before && after && sameShape(before, after)) continue;
        modes.delete(name);
        if (before && after && mode.degraded && effectiveRoute(before, mode) !== after.route) {
          changes.push({ rule: name, from: effectiveRoute(before, mode), to: after.route, reason: "policy reloaded", link });
        }
      }
      for (const key of estimates.keys()) {
        const name = key.slice(0, key.indexOf("\u0000"));
        const after = nextByName.get(name);
        if (!after || JSON.stringify(after.anomaly) !== JSON.stringify(byName.get(name)?.anomaly)) estimates.delete(key);
      }
      policy = next;
      match = createRuleMatcher(next);
      byName = nextByName;
      return [...changes, ...observe(link, now)];
    },
    policy: (): Policy => policy,
    /** Each rule's route in force, for status and tests. */
    modes(): Record<string, { route: Route; degraded: boolean; reason?: string }> {
      const out: Record<string, { route: Route; degraded: boolean; reason?: string }> = {};
      for (const rule of byName.values()) {
        const mode = modes.get(rule.name) ?? NORMAL;
        out[rule.name] = { route: effectiveRoute(rule, mode), degraded: mode.degraded, ...(mode.degraded ? { reason: mode.reason } : {}) };
      }
      return out;
    },
  };
}
/** The routing decider of one edge. */
export type Router = ReturnType<typeof createRouter>;
