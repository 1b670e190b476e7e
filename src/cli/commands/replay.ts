import { CLOUD_DOMAIN } from "../../ids.ts";
import { UsageError } from "../../errors.ts";
import { CE, decodeEvent } from "../../events/envelope.ts";
import { readMessages } from "../../store/read-stream.ts";
import { addressOf, connectTo, readTopology } from "../../topology/index.ts";
import { findStream } from "../../../streams/index.ts";
import { DIR_OPTION, dirOf, int, parse, time } from "../args.ts";

const USAGE = "tide replay STREAM [--edge ID] [--subject S] [--since T] [--until T] [--from-seq N] [--to-seq N] [--json] [--dir D]";

/** One replayed message, as printed by `--json`. */
export interface ReplayLine {
  seq: number;
  subject: string;
  storedAt: string;
  type: string;
  id: string;
  valid: boolean;
  data: unknown;
  error?: string;
}

/** Print a stream's events in order: a table for people, JSON lines (`--json`) for tools. */
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
      json: { type: "boolean" },
    },
    USAGE,
    1,
  );
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
  const topology = readTopology(dirOf(values.dir));
  const { domain } = addressOf(topology, place);
  const nc = await connectTo(topology, place);
  const out = process.stdout;
  let count = 0;
  try {
    if (!values.json) out.write(`${"SEQ".padStart(8)}  ${"STORED AT".padEnd(24)}  ${"SUBJECT".padEnd(36)}  ${"TYPE".padEnd(32)}  DATA\n`);
    for await (const m of readMessages(nc, {
      stream,
      domain,
      ...(values.subject ? { subject: values.subject } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(fromSeq ? { fromSeq } : {}),
      ...(toSeq ? { toSeq } : {}),
    })) {
      count++;
      const decoded = decodeEvent(m.headers, m.data);
      const line: ReplayLine = decoded.success
        ? { seq: m.seq, subject: m.subject, storedAt: m.storedAt, type: decoded.event.type, id: decoded.event.metadata.id, valid: true, data: decoded.event.data }
        : {
            seq: m.seq,
            subject: m.subject,
            storedAt: m.storedAt,
            type: m.headers?.get(CE.type) ?? "",
            id: m.headers?.get(CE.id) ?? "",
            valid: false,
            data: new TextDecoder().decode(m.data),
            error: decoded.message,
          };
      if (values.json) out.write(JSON.stringify(line) + "\n");
      else {
        const data = JSON.stringify(line.data);
        out.write(`${String(line.seq).padStart(8)}  ${line.storedAt.padEnd(24)}  ${line.subject.padEnd(36)}  ${(line.valid ? line.type : `INVALID ${line.error}`).padEnd(32)}  ${data.length > 100 ? data.slice(0, 97) + "..." : data}\n`);
      }
    }
  } finally {
    await nc.close();
  }
  if (!values.json) process.stderr.write(`${count} event(s) from ${domain} ${stream}\n`);
  return 0;
}
