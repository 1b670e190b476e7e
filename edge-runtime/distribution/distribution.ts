import type { NatsConnection } from "nats";
import { createEvent, distributionModeChanged, distributionStats, subjects, summaryRecorded, type ReadingData, type ReadingRoute } from "../../src/events/index.ts";
import { deterministicId, edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { createLinkMonitor, type LinkSample } from "./link-monitor.ts";
import { createOutbox } from "./outbox.ts";
import type { Policy } from "./policy.ts";
import { createRouter, type LinkState, type ModeChange, type Router } from "./router.ts";
import { createDistributionStats } from "./stats.ts";
import { createSummarizer, type SummaryData } from "./summarizer.ts";
import { createSummaryFeed } from "./summary-feed.ts";
import { watchPolicy, type PolicyWatcher } from "./watcher.ts";

/** What a distribution needs: the edge, its connection and its policy file; timings have defaults. */
export interface DistributionOptions {
  /** A connection to the edge's own server. */
  nc: NatsConnection;
  edge: EdgeId;
  /** The edge's policy file (JSON); see edge-runtime/policy.example.json. */
  policyPath: string;
  logger?: Logger;
  /** Uplink sample period (default 1000 ms). */
  linkIntervalMs?: number;
  /** How long the hub may take to answer a probe (default 2000 ms). */
  linkTimeoutMs?: number;
  /** Period of `tide.distribution.stats.v1` (default 10 s). */
  statsIntervalMs?: number;
  /** An ended summary window of a device silent this long is closed by the timer (default 5000 ms). */
  summaryIdleMs?: number;
  /** Policy file polling period, on top of file events (default 2000 ms). */
  policyPollMs?: number;
}

const linkOf = (l: LinkState): LinkState => ({ connected: l.connected, ...(l.rttMs === undefined ? {} : { rttMs: l.rttMs }), backlog: l.backlog });

/**
 * The edge's data distribution: the policy file (reloaded on change), the
 * uplink monitor, the routing decider, the summarizer and the stats, wired
 * together. `route` is what ingest calls for every reading: it decides
 * synchronously (a rule lookup, a mode lookup, a detector step, a counter) and
 * returns where the reading is stored. Summaries, stats and mode changes are
 * appended to the edge's `tide.summary.<edge>.<device>` and
 * `tide.distribution.<edge>`, which UPLINK takes to the cloud.
 */
export function createDistribution(options: DistributionOptions) {
  const { nc, edge, policyPath, logger = silentLogger, statsIntervalMs = 10_000, summaryIdleMs = 5000 } = options;
  const log = logger.child({ component: "distribution", edge });
  const source = `tide://${edgeDomain(edge)}/distribution`;
  const outbox = createOutbox({ js: nc.jetstream({ domain: edgeDomain(edge) }), logger: log });
  const monitor = createLinkMonitor({ nc, edge, logger: log, intervalMs: options.linkIntervalMs ?? 1000, timeoutMs: options.linkTimeoutMs ?? 2000 });
  const summarizer = createSummarizer(edge);
  const stats = createDistributionStats(edge);
  const listeners = new Set<(change: ModeChange) => void>();
  let router: Router | undefined;
  let watcher: PolicyWatcher | undefined;
  const timers: NodeJS.Timeout[] = [];

  const emitSummary = (data: SummaryData) => {
    const id = deterministicId(edge, "summary", data.device, data.windowStart, String(data.fromSeq));
    outbox.push(subjects.summary(edge, data.device), createEvent({ type: summaryRecorded.type, data }, { source, id }));
  };
  const onStored = (reading: ReadingData, seq: number, windowSeconds: number) => {
    const closed = summarizer.add(reading, seq, windowSeconds, Date.now());
    if (closed) emitSummary(closed);
  };
  const feed = createSummaryFeed({ nc, edge, logger: log, onStored });

  const emitChanges = (changes: readonly ModeChange[]) => {
    for (const change of changes) {
      const data = { edge, rule: change.rule, from: change.from, to: change.to, reason: change.reason, link: linkOf(change.link) };
      log.info(data, `rule ${change.rule}: ${change.from} -> ${change.to}`);
      outbox.push(subjects.distribution(edge), createEvent({ type: distributionModeChanged.type, data }, { source }));
      for (const listener of listeners) listener(change);
    }
  };
  const emitStats = () => {
    const data = stats.take();
    if (data) outbox.push(subjects.distribution(edge), createEvent({ type: distributionStats.type, data }, { source }));
  };
  const onPolicy = (policy: Policy) => {
    if (!router) return;
    emitStats(); // a stats interval never spans two policies
    emitChanges(router.setPolicy(policy, monitor.current(), Date.now()));
  };

  return {
    /** Where ingest stores `reading`: `up` (forwarded to the cloud raw) or `local`. Throws before `start`. */
    route(reading: ReadingData): ReadingRoute {
      if (!router) throw new Error("distribution not started");
      const { decision, changes } = router.decide(reading, monitor.current(), Date.now());
      if (changes.length) emitChanges(changes);
      stats.count(decision);
      if (decision.route === "summary") feed.expect(reading, decision.windowSeconds);
      return decision.forward ? "up" : "local";
    },
    /** Load the policy (a bad one throws ConfigError), take the first uplink sample, start the timers. Call before ingest starts. */
    async start(): Promise<void> {
      watcher = watchPolicy(policyPath, onPolicy, log, { pollMs: options.policyPollMs ?? 2000 });
      const active = createRouter(watcher.current());
      try {
        await feed.start();
        monitor.onSample((sample: LinkSample) => emitChanges(active.observe(sample, sample.sampledAt)));
        router = active;
        await monitor.start();
      } catch (error) {
        router = undefined;
        watcher.close();
        await monitor.stop();
        await feed.stop(0);
        throw error;
      }
      timers.push(setInterval(emitStats, statsIntervalMs));
      timers.push(setInterval(() => summarizer.flushIdle(Date.now(), summaryIdleMs).forEach(emitSummary), Math.min(1000, summaryIdleMs)));
    },
    /** Stop after ingest: close open summary windows, write the last stats, store what is queued. */
    async stop(): Promise<void> {
      for (const timer of timers.splice(0)) clearInterval(timer);
      watcher?.close();
      await monitor.stop();
      await feed.stop();
      summarizer.flushAll().forEach(emitSummary);
      emitStats();
      const left = await outbox.flush();
      if (left) log.warn({ left }, "distribution stopped with events not stored");
      outbox.close();
      router = undefined;
    },
    /** The policy in force. */
    policy: (): Policy | undefined => watcher?.current(),
    /** Re-read the policy file now (it is also re-read on change). */
    reloadPolicy: () => watcher?.reload(),
    /** The last uplink sample. */
    link: (): LinkSample => monitor.current(),
    /** Each rule's route in force. */
    modes: () => router?.modes() ?? {},
    /** Readings routed so far, and how many went up raw. */
    totals: () => stats.totals(),
    /** Call `listener` on every mode change; returns the unsubscribe. */
    onModeChange(listener: (change: ModeChange) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
/** The data distribution of one edge. */
export type Distribution = ReturnType<typeof createDistribution>;
