import type { NatsConnection } from "nats";
import { readBatches, readStream } from "../src/store/read-stream.ts";
import { edgeReadings } from "../streams/edge/readings.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { describeRate, interleaved, perSecond, ratioFigure, round, timeRate } from "./measure.ts";
import { fillReadings } from "./readings.ts";
import type { BenchOutcome } from "./types.ts";

const STREAM = "READINGS";
/** Messages per pull, on both sides (readMessages' default). */
const BATCH = 1000;

/**
 * The ceiling: a bare ordered consumer over the whole stream, counting
 * messages. With `readHeaders` (a diagnostic, not the ceiling) it also has
 * nats.js decode each message's headers, as any reader of our envelope must.
 */
export async function rawReplay(nc: NatsConnection, n: number, readHeaders = false): Promise<void> {
  const consumer = await nc.jetstream().consumers.get(STREAM);
  const messages = await consumer.consume({ max_messages: BATCH });
  let count = 0;
  let withHeaders = 0;
  for await (const m of messages) {
    count++;
    if (readHeaders && m.headers) withHeaders++;
    if (m.info.pending === 0) break;
  }
  await messages.close();
  if (count !== n) throw new Error(`raw replay saw ${count} of ${n} messages`);
  if (readHeaders && withHeaders !== n) throw new Error(`raw replay saw headers on ${withHeaders} of ${n} messages`);
}

async function count(events: AsyncIterable<unknown>, n: number, what: string): Promise<void> {
  let seen = 0;
  for await (const _ of events) seen++;
  if (seen !== n) throw new Error(`${what} saw ${seen} of ${n} events`);
}

async function countBatches(batches: AsyncIterable<readonly unknown[]>, n: number): Promise<void> {
  let seen = 0;
  for await (const batch of batches) seen += batch.length;
  if (seen !== n) throw new Error(`readBatches saw ${seen} of ${n} messages`);
}

/** replay.ratio: events/s through readStream (decoded and validated) against a bare ordered consumer over the same stream. */
export async function replayBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const { replay: n, runs } = ctx.sizes;
  return withTopology(ctx, { edgeStreams: [edgeReadings] }, async ({ connect, edge }) => {
    const nc = await connect(edge);
    ctx.progress(`replay: filling READINGS with ${n.toLocaleString("en-US")} readings`);
    await fillReadings(nc.jetstream(), edge, n);

    const ours = () => timeRate(n, () => count(readStream(nc, { stream: STREAM, batch: BATCH }), n, "readStream"));
    const raw = () => timeRate(n, () => rawReplay(nc, n));
    const headers = () => timeRate(n, () => rawReplay(nc, n, true));
    const undecoded = () => timeRate(n, () => countBatches(readBatches(nc, { stream: STREAM, batch: BATCH }), n));

    ctx.progress("replay: warming up");
    await ours();
    await raw();
    const rates = await interleaved(runs, { ours, raw, headers, undecoded }, (side, run, rate) => ctx.progress(`replay: ${side} run ${run + 1}: ${perSecond(rate)}`));
    return {
      figures: [ratioFigure("replay.ratio", "events/s", rates.ours, rates.raw, 0.8)],
      title: "Replay (`replay.ratio`)",
      how:
        `The edge's READINGS holds ${n.toLocaleString("en-US")} readings. Ours: \`readStream(nc, { stream: "READINGS" })\` from the first to ` +
        "the last event, each one decoded from its CloudEvents headers and JSON body and validated against its zod schema. " +
        `Ceiling: a bare ordered consumer (\`js.consumers.get("READINGS")\`, \`consume({ max_messages: ${BATCH} })\`) counting messages until ` +
        `none are pending. Same pull size (${BATCH}) on both sides, same connection; one warm-up each, then ${runs} run(s) interleaved, best counts.`,
      details: [
        `ours ${describeRate(rates.ours)}; bare ordered consumer ${describeRate(rates.raw)}.`,
        `Diagnostic: the bare consumer also reading each message's headers (nats.js parses our 7 CloudEvents headers into a MsgHdrs): ` +
          `${describeRate(rates.headers)}, ${round(rates.headers.perSecond / rates.raw.perSecond, 2)} of the ceiling.`,
        `Diagnostic: \`readBatches\`, the read under \`readStream\` (a pull consumer of our own on a core subscription, messages taken ` +
          `in its callback and handed over in batches; no header read, no decoding, no validation): ${describeRate(rates.undecoded)}, ` +
          `${round(rates.undecoded.perSecond / rates.raw.perSecond, 2)} of the ceiling. Ours-to-this is reading the CloudEvents headers, ` +
          `decoding and validating each event and yielding it (${round(rates.ours.perSecond / rates.undecoded.perSecond, 2)}).`,
      ],
    };
  });
}
