import { CLOUD_DOMAIN } from "../../ids.ts";
import { UsageError, errorMessage } from "../../errors.ts";
import { formatReplayLine, replayHeader, replayLines, REPLAY_FORMATS, type ReplayFormat } from "../../replay/index.ts";
import { addressOf, connectTo, readTopology } from "../../topology/index.ts";
import { findStream } from "../../../streams/index.ts";
import { DIR_OPTION, dirOf, int, parse, time } from "../args.ts";
import { createCountBar } from "../progress.ts";

export type { ReplayLine } from "../../replay/index.ts";

const USAGE =
  "tide replay STREAM [--edge ID] [--subject S] [--since T] [--until T] [--from-seq N] [--to-seq N] [--format table|json|csv | --json | --csv] [--dir D]";

function formatOf(values: { format?: string | undefined; json?: boolean | undefined; csv?: boolean | undefined }): ReplayFormat {
  const chosen = [values.format, values.json ? "json" : undefined, values.csv ? "csv" : undefined].filter((f): f is string => f !== undefined);
  if (new Set(chosen).size > 1) throw new UsageError(`choose one output format (got ${chosen.join(" and ")})\nusage: ${USAGE}`);
  const format = chosen[0] ?? "table";
  if (!(REPLAY_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${REPLAY_FORMATS.join(", ")}, got '${format}'`);
  return format as ReplayFormat;
}

/** Resolves when the stream can take more, or will never (closed, failed: the error is handled where it is emitted). */
function writable(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      out.off("error", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    out.on("error", done);
  });
}

/**
 * Print a stream's events in order: a table for people, JSON lines (`--json`)
 * or CSV (`--csv`) for tools. A progress bar on stderr, only on a terminal.
 */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...DIR_OPTION,
      edge: { type: "string" },
      subject: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      "from-seq": { type: "string" },
      "to-seq": { type: "string" },
      format: { type: "string" },
      json: { type: "boolean" },
      csv: { type: "boolean" },
    },
    USAGE,
    1,
  );
  const format = formatOf(values);
  const streamName = positionals[0];
  if (!streamName) throw new UsageError(`which stream?\nusage: ${USAGE}`);
  const place = values.edge ?? CLOUD_DOMAIN;
  const definition = findStream(place === CLOUD_DOMAIN ? "cloud" : "edge", streamName);
  const stream = definition?.name ?? streamName;
  if (!definition && !/^OBJ_|^KV_/.test(streamName)) {
    throw new UsageError(`no stream '${streamName}' in the ${place === CLOUD_DOMAIN ? "cloud" : "edge"} catalogue`);
  }
  const since = time(values.since, "since");
  const until = time(values.until, "until");
  if (since && until && since > until) throw new UsageError("--since is after --until");
  const fromSeq = int(values["from-seq"], "from-seq", { min: 1 });
  const toSeq = int(values["to-seq"], "to-seq", { min: 1 });
  if (fromSeq && toSeq && fromSeq > toSeq) throw new UsageError("--from-seq is after --to-seq");
  const topology = readTopology(dirOf(values.dir));
  const { domain } = addressOf(topology, place);
  const nc = await connectTo(topology, place, { maxReconnectAttempts: 0 });
  const out = process.stdout;
  // A reader that went away (`| head`) ends the replay; it is not an error. Any other
  // write error (a full disk, EIO) ends it too, and fails the command the usual way.
  let gone = false;
  let failed: Error | undefined;
  const onError = (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") gone = true;
    else failed ??= error;
  };
  out.on("error", onError);
  const bar = createCountBar(process.stderr);
  let count = 0;
  let total: number | undefined;
  try {
    const header = replayHeader(format);
    if (header) out.write(header);
    for await (const lines of replayLines(nc, {
      stream,
      domain,
      ...(values.subject ? { subject: values.subject } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(fromSeq ? { fromSeq } : {}),
      ...(toSeq ? { toSeq } : {}),
      onProgress: (p) => {
        total = p.total;
        bar.update(p.read, p.total);
      },
    })) {
      if (gone || failed) break;
      let chunk = "";
      for (const line of lines) chunk += formatReplayLine(line, format);
      count += lines.length;
      // Respect backpressure: a slow reader slows the replay instead of filling memory.
      if (!out.write(chunk) && !gone && !failed) await writable(out);
      if (gone || failed) break;
    }
  } finally {
    // A reader that left early leaves the total unknown: show what was read.
    bar.end(count, gone || failed ? Math.max(count, total ?? count) : count);
    await nc.close();
    out.off("error", onError);
  }
  if (failed) throw new Error(`cannot write the replay to stdout: ${errorMessage(failed)}`, { cause: failed });
  if (format === "table") process.stderr.write(`${count} event(s) from ${domain} ${stream}\n`);
  return 0;
}
