import type { NatsConnection } from "nats";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { round } from "./measure.ts";
import { fillReadings } from "./readings.ts";
import type { BenchOutcome } from "./types.ts";

const POLL_MS = 50;
const TIMEOUT_MS = 180_000;

async function messages(nc: NatsConnection, domain: string, stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager({ domain });
  return (await jsm.streams.info(stream)).state.messages;
}

/** Seconds from `start` until `stream` holds `n` messages. */
async function until(nc: NatsConnection, domain: string, stream: string, n: number, start: number): Promise<number> {
  const deadline = start + TIMEOUT_MS;
  for (;;) {
    const have = await messages(nc, domain, stream);
    if (have >= n) return (performance.now() - start) / 1000;
    if (performance.now() > deadline) throw new Error(`${domain} ${stream} has ${have} of ${n} messages after ${TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/**
 * forward.<N>.seconds: readings appended on an edge through the event store
 * (routed `up`) until all are in the cloud READINGS: edge READINGS -> edge
 * UPLINK (sourced) -> cloud READINGS (sourced across the leaf link).
 */
export async function forwardBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const n = ctx.sizes.forward;
  return withTopology(ctx, { cloud: true }, async ({ connect, edge, edgeDomain }) => {
    const edgeNc = await connect(edge);
    const cloudNc = await connect(CLOUD_DOMAIN);
    ctx.progress(`forward: ${n.toLocaleString("en-US")} readings edge -> cloud`);
    const start = performance.now();
    const appended = fillReadings(edgeNc.jetstream(), edge, n).then(() => (performance.now() - start) / 1000);
    const [appendSeconds, uplinkSeconds, cloudSeconds] = await Promise.all([
      appended,
      until(edgeNc, edgeDomain, "UPLINK", n, start),
      until(cloudNc, CLOUD_DOMAIN, "READINGS", n, start),
    ]);
    const lag = Math.max(0, cloudSeconds - appendSeconds);
    ctx.progress(`forward: all ${n.toLocaleString("en-US")} in the cloud after ${cloudSeconds.toFixed(2)} s`);
    const name = `forward.${n >= 1000 ? `${n / 1000}k` : n}.seconds`;
    return {
      figures: [{ name, value: round(cloudSeconds, 2), unit: "s" }],
      title: `Forwarding (\`${name}\`)`,
      how:
        `${n.toLocaleString("en-US")} readings (routed \`up\`) appended on edge 1 through the event store (512 acks outstanding), with the ` +
        "whole stream catalogue applied: edge READINGS, UPLINK sourcing READINGS' `up` readings, and the cloud READINGS sourcing the edge's " +
        `UPLINK across the leaf link through \`$JS.edge-1.API\`. Clock: from the first append until the cloud READINGS' stream info says it ` +
        `holds all ${n.toLocaleString("en-US")} (polled every ${POLL_MS} ms on the hub). One run.`,
      details: [
        `All appended (acked) on the edge after ${appendSeconds.toFixed(2)} s (${Math.round(n / appendSeconds).toLocaleString("en-US")}/s), ` +
          `all in the edge UPLINK after ${uplinkSeconds.toFixed(2)} s, all in the cloud READINGS after ${cloudSeconds.toFixed(2)} s ` +
          `(each seen by polling, so up to ~${POLL_MS} ms late). ` +
          (lag < 1
            ? `The cloud had the last reading ${lag.toFixed(2)} s after the edge acked it: forwarding keeps pace with the edge's appends, so this figure is mostly the edge's append rate.`
            : `The cloud had the last reading ${lag.toFixed(2)} s after the edge acked it: forwarding lags behind the edge's appends.`),
      ],
    };
  });
}
