/**
 * The edge's data distribution policy: which readings stay on the edge, which
 * go to the cloud raw, as summaries or only when anomalous, adapting to the
 * uplink. `createDistribution` is the entry point; the rest is exported for
 * tools and tests.
 */
export { createDistribution, type Distribution, type DistributionOptions } from "./distribution.ts";
export { DataType, Metric, Policy, Rule, createRuleMatcher, loadPolicy, parsePolicy, parsePolicyText, type PolicyResult, type PolicyRule } from "./policy.ts";
export { watchPolicy, type PolicyWatcher, type ReloadOutcome, type WatchPolicyOptions } from "./watcher.ts";
export { createRouter, effectiveRoute, evaluateMode, type Decision, type LinkState, type ModeChange, type Router, type RuleMode } from "./router.ts";
export { createSummarizer, type Summarizer, type SummaryData } from "./summarizer.ts";
export { createLinkMonitor, type LinkMonitor, type LinkMonitorOptions, type LinkSample } from "./link-monitor.ts";
export { createDistributionStats, type DistributionStats, type StatsData } from "./stats.ts";
export { judge, type AnomalyParams, type DeviceEstimates, type Judgement } from "./anomaly.ts";
