import type { NatsConnection } from "nats";
import { formatReplayLine, replayLines } from "../src/replay/index.ts";
import { readStream } from "../src/store/read-stream.ts";
import { edgeReadings } from "../streams/edge/readings.ts";
import { withTopology, type BenchContext } from "./context.ts";
import { describeRate, interleaved, perSecond, ratioFigure, round, timeRate } from "./measure.ts";
import { fillReadings } from "./readings.ts";
import { rawReplay } from "./replay.ts";
import type { BenchOutcome } from "./types.ts";

const STREAM = "READINGS";
const BATCH = 1000;

/** What `tide replay --format json` does for each message, minus the write to stdout: read, decode, validate, format. */
async function cliReplay(nc: NatsConnection, n: number): Promise<void> {
  let seen = 0;
  let bytes = 0;
  for await (const lines of replayLines(nc, { stream: STREAM, batch: BATCH, onProgress: () => undefined })) {
    let chunk = "";
    for (const line of lines) chunk += formatReplayLine(line, "json");
    bytes += chunk.length;
    seen += lines.length;
  }
  if (seen !== n || bytes === 0) throw new Error(`replay saw ${seen} of ${n} events`);
}

async function decodeOnly(nc: NatsConnection, n: number): Promise<void> {
  let seen = 0;
  for await (const _ of readStream(nc, { stream: STREAM, batch: BATCH })) seen++;
  if (seen !== n) throw new Error(`readStream saw ${seen} of ${n} events`);
}

/** replay.1m.events_per_s: a million events through `tide replay`'s pipeline against a bare ordered consumer over the same stream. */
export async function replay1mBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const n = ctx.sizes.quick ? 20_000 : 1_000_000;
  const runs = Math.min(ctx.sizes.runs, 2);
  return withTopology(ctx, { edgeStreams: [edgeReadings] }, async ({ connect, edge }) => {
    const nc = await connect(edge);
    ctx.progress(`replay1m: filling READINGS with ${n.toLocaleString("en-US")} readings`);
    await fillReadings(nc.jetstream(), edge, n);

    const ours = () => timeRate(n, () => cliReplay(nc, n));
    const raw = () => timeRate(n, () => rawReplay(nc, n));
    const decoded = () => timeRate(n, () => decodeOnly(nc, n));
    const rates = await interleaved(runs, { ours, raw, decoded }, (side, run, rate) => ctx.progress(`replay1m: ${side} run ${run + 1}: ${perSecond(rate)} (${rate.seconds.toFixed(1)} s)`));
    return {
      figures: [{ ...ratioFigure("replay.1m.events_per_s", "events/s", rates.ours, rates.raw, 0.5) }],
      title: "Replay of a million events (`replay.1m.events_per_s`)",
      how:
        `The edge's READINGS holds ${n.toLocaleString("en-US")} readings. Ours: what \`tide replay READINGS --format json\` does for every event, ` +
        "minus writing to stdout: `replayLines` (the batches of `readBatches`, each message decoded from its CloudEvents " +
        "headers and JSON body, validated against its zod schema, made a replay line) and each line formatted as JSON, a batch per string. " +
        `Ceiling: a bare ordered consumer (\`consume({ max_messages: ${BATCH} })\`) counting messages until none are pending. Same pull size, ` +
        `same connection; ${runs} run(s) per side interleaved (the fill warms the server), best counts.`,
      details: [
        `ours ${describeRate(rates.ours)}: ${rates.ours.seconds.toFixed(1)} s for all of them; bare ordered consumer ${describeRate(rates.raw)} (${rates.raw.seconds.toFixed(1)} s).`,
        `Diagnostic: \`readStream\` alone (decoded and validated events, no replay lines, no JSON): ${describeRate(rates.decoded)}, ` +
          `${round(rates.decoded.perSecond / rates.raw.perSecond, 2)} of the ceiling; ours is ${round(rates.ours.perSecond / rates.decoded.perSecond, 2)} of that: making replay lines and formatting them as JSON costs the rest.`,
      ],
    };
  });
}
