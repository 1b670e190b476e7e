import type { JetStreamManager, NatsConnection } from "nats";
import { errorMessage } from "../../src/errors.ts";
import { subjects } from "../../src/events/index.ts";
import { CLOUD_DOMAIN, edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { isNoMessage } from "../../src/store/api-errors.ts";
import { cloudReadings } from "../../streams/cloud/readings.ts";
import { edgeUplink } from "../../streams/edge/uplink.ts";
import type { LinkState } from "./router.ts";

/** What the link monitor measures from, and how often. */
export interface LinkMonitorOptions {
  /** A connection to the edge's own server. */
  nc: NatsConnection;
  edge: EdgeId;
  /** Pause between samples (default 1000 ms). */
  intervalMs?: number;
  /** How long the hub may take to answer before the link counts as down (default 2000 ms). */
  timeoutMs?: number;
  logger?: Logger;
}

/** One measurement of the uplink. */
export interface LinkSample extends LinkState {
  /** Wall-clock time of the sample (ms). */
  sampledAt: number;
  /** Last sequence of the edge UPLINK. */
  uplinkLastSeq: number;
  /** The last UPLINK sequence the cloud is known to hold; absent until the hub has been reached once. */
  cloudPosition?: number;
}

const SOURCE_HEADER = "Nats-Stream-Source";

/**
 * Measures the uplink from the edge, across the leaf link:
 * - connected: the hub's JetStream answers `$JS.cloud.API.INFO` (with the leaf
 *   down the edge server has no route for it and says 503 at once);
 * - rttMs: the round trip of that request;
 * - backlog: UPLINK messages the cloud does not hold yet. The cloud copy of an
 *   edge's newest message carries `Nats-Stream-Source: UPLINK:<hash> <seq>`, so
 *   the cloud's position is read from its last message on the edge's subjects.
 *   (On 2.9.10 the source consumer is a hidden direct consumer, and the hub's
 *   `lag` stays stale until the source restarts, so neither can be used.)
 *   While the hub is unreachable the last known position is used; before the
 *   first contact the backlog is every message in UPLINK.
 */
export function createLinkMonitor(options: LinkMonitorOptions) {
  const { nc, edge, intervalMs = 1000, timeoutMs = 2000, logger = silentLogger } = options;
  const log = logger.child({ component: "link-monitor" });
  const listeners = new Set<(sample: LinkSample) => void>();
  let current: LinkSample = { connected: false, backlog: 0, sampledAt: 0, uplinkLastSeq: 0 };
  let cloudPosition: number | undefined;
  let uplink = { lastSeq: 0, firstSeq: 0, messages: 0 };
  let edgeJsm: JetStreamManager | undefined;
  let cloudJsm: JetStreamManager | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<LinkSample> | undefined;
  let stopped = false;

  async function rtt(): Promise<number | undefined> {
    const started = performance.now();
    try {
      await nc.request(`$JS.${CLOUD_DOMAIN}.API.INFO`, undefined, { timeout: timeoutMs });
      return performance.now() - started;
    } catch {
      return undefined;
    }
  }

  /** The highest UPLINK sequence among the cloud's last messages from this edge; undefined when unknown. */
  async function positionInCloud(jsm: JetStreamManager): Promise<number | undefined> {
    const lastOf = async (subject: string): Promise<number | undefined> => {
      try {
        const msg = await jsm.streams.getMessage(cloudReadings.name, { last_by_subj: subject });
        const [origin, seq] = (msg.header?.get(SOURCE_HEADER) ?? "").split(" ");
        return origin?.startsWith(edgeUplink.name) && seq ? Number(seq) : undefined;
      } catch (error) {
        if (isNoMessage(error)) return 0;
        return undefined;
      }
    };
    const found = await Promise.all([lastOf(`tide.*.${edge}.>`), lastOf(subjects.distribution(edge))]);
    return found.some((p) => p === undefined) ? undefined : Math.max(...(found as number[]));
  }

  async function measure(): Promise<LinkSample> {
    edgeJsm ??= await nc.jetstreamManager({ domain: edgeDomain(edge), checkAPI: false, timeout: timeoutMs });
    cloudJsm ??= await nc.jetstreamManager({ domain: CLOUD_DOMAIN, checkAPI: false, timeout: timeoutMs });
    const [rttMs, stream] = await Promise.all([rtt(), edgeJsm.streams.info(edgeUplink.name).catch((error: unknown) => errorMessage(error))]);
    if (typeof stream === "string") log.debug({ err: stream }, "UPLINK info unavailable; keeping the last one");
    else uplink = { lastSeq: stream.state.last_seq, firstSeq: stream.state.first_seq, messages: stream.state.messages };
    const connected = rttMs !== undefined;
    if (connected) cloudPosition = (await positionInCloud(cloudJsm)) ?? cloudPosition;
    const backlog = cloudPosition === undefined ? uplink.messages : Math.max(0, uplink.lastSeq - Math.max(cloudPosition, uplink.firstSeq - 1));
    return {
      connected,
      ...(rttMs === undefined ? {} : { rttMs }),
      backlog,
      sampledAt: Date.now(),
      uplinkLastSeq: uplink.lastSeq,
      ...(cloudPosition === undefined ? {} : { cloudPosition }),
    };
  }

  /** Take one sample now (samples never overlap) and tell the listeners. */
  function sample(): Promise<LinkSample> {
    running ??= measure()
      .then((s) => {
        if (s.connected !== current.connected) log.info({ connected: s.connected, rttMs: s.rttMs, backlog: s.backlog }, s.connected ? "uplink up" : "uplink down");
        current = s;
        for (const listener of listeners) listener(s);
        return s;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      sample()
        .catch((error: unknown) => log.warn({ err: errorMessage(error) }, "link sample failed"))
        .finally(schedule);
    }, intervalMs);
  }

  return {
    /** Take the first sample, then one every `intervalMs`. */
    async start(): Promise<LinkSample> {
      stopped = false;
      const first = await sample();
      schedule();
      return first;
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
    sample,
    /** The last sample. */
    current: (): LinkSample => current,
    /** Call `listener` after every sample; returns the unsubscribe. */
    onSample(listener: (sample: LinkSample) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
/** The uplink monitor of one edge. */
export type LinkMonitor = ReturnType<typeof createLinkMonitor>;
