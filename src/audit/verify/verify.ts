import type { NatsConnection, StreamInfo, StreamSourceInfo } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../errors.ts";
import type { TideEvent } from "../../events/index.ts";
import type { AuditPlaces } from "../places.ts";
import { artifactFindings } from "./artifacts.ts";
import type { Finding, VerifyReport } from "./findings.ts";
import { frontTrim, gapFindings, isStoreStream } from "./gaps.ts";
import { scanStream, streamInfos } from "./scan.ts";
import { unionFindings, type AggregateScan, type IdEntry, type PartScan } from "./union.ts";

export interface VerifyOptions {
  /** How long to wait for the cloud's sources to catch up before calling a missing event lost (default 10 s). */
  settleMs?: number;
  /** A line per step, for a progress display. */
  onStep?: (message: string) => void;
  now?: () => number;
}

/** A cloud stream that sources one stream of every edge, and which of its subjects came from them. */
interface SourcedPair {
  aggregate: string;
  part: string;
  fromEdges: (subject: string) => boolean;
}

const PAIRS: readonly SourcedPair[] = [
  { aggregate: "READINGS", part: "UPLINK", fromEdges: () => true },
  { aggregate: "MODELS", part: "REPORTS", fromEdges: (subject) => subject.startsWith("tide.report.") },
];

/** The cloud source reading `part` from an edge domain: its lag now. */
async function sourceLags(cloud: NatsConnection, domain: string, aggregate: string): Promise<Map<string, { lag: number; error?: string }>> {
  const jsm = await cloud.jetstreamManager({ domain });
  const info = await jsm.streams.info(aggregate);
  const lags = new Map<string, { lag: number; error?: string }>();
  // 2.9 reports each source's `external` (not in nats.js's type): it names the edge domain.
  for (const s of (info.sources ?? []) as Array<StreamSourceInfo & { external?: { api?: string } }>) {
    const api = s.external?.api ?? "";
    const m = /^\$JS\.(.+)\.API$/.exec(api);
    if (m) lags.set(m[1]!, { lag: s.lag, ...(s.error ? { error: s.error.description } : {}) });
  }
  return lags;
}

/**
 * `tide audit verify`: read every stream of the cloud and of every edge once,
 * and check the union (nothing lost or duplicated between each edge and the
 * cloud), sequence gaps, published artifacts, every event's schema and the
 * origin of every message the cloud sourced from an edge.
 */
export async function verifyFleet(places: AuditPlaces, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { settleMs = 10_000, onStep = () => undefined, now = Date.now } = options;
  const findings: Finding[] = [];
  const checked = { reach: 0, union: 0, gaps: 0, artifacts: 0, schema: 0, origin: 0 };
  const cloudDomain = places.cloudDomain;
  const published: Array<TideEvent<"tide.model.published.v1">> = [];

  // The cloud first, then the edges: an edge message the cloud has not got yet is then "in flight", never an "extra" in the cloud.
  onStep(`reading the cloud's streams`);
  const cloudInfos = await streamInfos(places.cloud, cloudDomain);
  checked.reach++;
  const aggregates = new Map<string, AggregateScan & { lastSeq: number }>();
  for (const info of cloudInfos) {
    const name = info.config.name;
    findings.push(...gapFindings(cloudDomain, info, now()));
    checked.gaps++;
    if (isStoreStream(name)) continue;
    const pair = PAIRS.find((p) => p.aggregate === name);
    const scan = await scanStream(places.cloud, cloudDomain, name, {
      ...(pair ? { collectIds: pair.fromEdges, sourceSeqs: true, origins: true } : {}),
      ...(name === "MODELS" ? { onEvent: (e: TideEvent) => void (e.type === "tide.model.published.v1" && published.push(e)) } : {}),
    });
    checked.schema += scan.messages;
    checked.origin += scan.sourced;
    if (scan.invalid) findings.push(scan.invalid);
    if (scan.forged) findings.push(scan.forged);
    if (pair) {
      const trim = frontTrim(info, now());
      const removedUpTo = Date.parse(info.state.messages > 0 ? info.state.first_ts : info.state.last_ts);
      aggregates.set(name, { domain: cloudDomain, stream: name, entries: scan.entries, lastSeq: scan.lastSeq, ...(trim ? { trimmed: { removedUpToMs: removedUpTo, reasons: trim.reasons } } : {}) });
    }
  }

  const parts = new Map<string, PartScan[]>(PAIRS.map((p) => [p.aggregate, []]));
  for (const edge of places.edges) {
    if (!edge.nc) {
      findings.push({ check: "reach", severity: "violation", domain: edge.domain, message: `edge ${edge.id} cannot be reached: ${edge.unreachable ?? "not connected"}` });
      for (const pair of PAIRS) parts.get(pair.aggregate)!.push({ edge: edge.id, domain: edge.domain, stream: pair.part, unreachable: edge.unreachable ?? "not connected", firstSeq: 1, entries: [] });
      continue;
    }
    onStep(`reading edge ${edge.id}'s streams`);
    let infos: StreamInfo[];
    try {
      infos = await streamInfos(edge.nc, edge.domain);
    } catch (error) {
      findings.push({ check: "reach", severity: "violation", domain: edge.domain, message: `edge ${edge.id}'s streams cannot be listed: ${errorMessage(error)}` });
      continue;
    }
    checked.reach++;
    for (const info of infos) {
      const name = info.config.name;
      findings.push(...gapFindings(edge.domain, info, now()));
      checked.gaps++;
      if (isStoreStream(name)) continue;
      const pair = PAIRS.find((p) => p.part === name);
      const scan = await scanStream(edge.nc, edge.domain, name, pair ? { collectIds: () => true } : {});
      checked.schema += scan.messages;
      if (scan.invalid) findings.push(scan.invalid);
      if (pair && aggregates.has(pair.aggregate)) {
        parts.get(pair.aggregate)!.push({ edge: edge.id, domain: edge.domain, stream: name, firstSeq: info.state.first_seq, entries: scan.entries });
      }
    }
  }

  for (const pair of PAIRS) {
    const aggregate = aggregates.get(pair.aggregate);
    const edgeParts = parts.get(pair.aggregate)!;
    if (!aggregate || edgeParts.length === 0) continue;
    await settle(places.cloud, aggregate, edgeParts, settleMs, onStep);
    findings.push(...unionFindings(aggregate, edgeParts));
    checked.union += aggregate.entries.length + edgeParts.reduce((n, p) => n + p.entries.length, 0);
  }

  onStep(`checking ${published.length} published artifact(s)`);
  findings.push(...(await artifactFindings(places.cloud, cloudDomain, published)));
  checked.artifacts += published.length;

  return { checkedAt: new Date(now()).toISOString(), ok: !findings.some((f) => f.severity === "violation"), checked, findings };
}

/**
 * Edge messages the cloud did not have when it was read may simply not have
 * been forwarded yet. Wait (up to `settleMs`) until every source has caught
 * up, read what the cloud stored since, and mark what may still be on its way.
 */
async function settle(cloud: NatsConnection, aggregate: AggregateScan & { lastSeq: number }, parts: PartScan[], settleMs: number, onStep: (m: string) => void): Promise<void> {
  const have = new Set(aggregate.entries.map((e) => e.id));
  const missing = () => parts.some((p) => p.unreachable === undefined && p.entries.some((e) => !have.has(e.id)));
  if (!missing()) return;
  onStep(`waiting up to ${settleMs / 1000} s for the cloud ${aggregate.stream} to catch up with the edges`);
  const deadline = Date.now() + settleMs;
  let lags = await sourceLags(cloud, aggregate.domain, aggregate.stream);
  for (;;) {
    const more = await scanStream(cloud, aggregate.domain, aggregate.stream, { fromSeq: aggregate.lastSeq + 1, collectIds: () => true, sourceSeqs: true });
    for (const e of more.entries) {
      aggregate.entries.push(e);
      have.add(e.id);
    }
    if (more.lastSeq > 0) aggregate.lastSeq = more.lastSeq;
    const caughtUp = [...lags.values()].every((l) => l.lag === 0 && !l.error);
    if (!missing() || (caughtUp && more.messages === 0) || Date.now() > deadline) break;
    await sleep(250);
    lags = await sourceLags(cloud, aggregate.domain, aggregate.stream);
  }
  for (const part of parts) {
    const lag = lags.get(part.domain);
    if (lag && (lag.lag > 0 || lag.error)) {
      const forwarded = aggregate.entries.filter((e) => e.subject.split(".")[2] === part.edge && e.sourceSeq !== undefined).map((e) => e.sourceSeq!);
      part.inFlightAbove = forwarded.reduce((a, b) => Math.max(a, b), 0);
    }
  }
}
