import type { NatsConnection } from "nats";
import { UsageError } from "../../errors.ts";
import type { EventData, TideEvent } from "../../events/catalogue.ts";
import { subjects } from "../../events/subjects.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { readStream } from "../../store/read-stream.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { requestTraining } from "../../training/run-events.ts";
import { DIR_OPTION, dirOf, int, parse, time } from "../args.ts";
import { createProgressBar } from "../progress.ts";

const USAGE = "tide train [--since T] [--until T] [--force] [--epochs N] [--no-wait] [--json] [--dir D]";
/** After this long without a trainer claiming the run, say what may be missing. */
const CLAIM_HINT_MS = 10_000;

/** The gate's verdict for a finished run (MODELS, on the candidate's version subject). */
async function evaluationOf(nc: NatsConnection, version: string): Promise<EventData<"tide.model.evaluated.v1"> | undefined> {
  for await (const stored of readStream(nc, { stream: "MODELS", domain: CLOUD_DOMAIN, subject: subjects.model(version) })) {
    if (stored.event.type === "tide.model.evaluated.v1") return stored.event.data;
  }
  return undefined;
}

function summary(runId: string, completed: EventData<"tide.training.completed.v1">, evaluated: EventData<"tide.model.evaluated.v1"> | undefined): string {
  const verdict = completed.published ? `${completed.version} published` : `${completed.version} not published`;
  return `run ${runId} completed: ${verdict}${evaluated?.reason ? ` (${evaluated.reason})` : ""}`;
}

/**
 * `tide train`: ask the cloud trainer for a run (`training.requested`, reason
 * `manual`) and follow it: the dataset it took, a live progress bar fed by its
 * epoch events (on a terminal), and how it ended. Exit 0 when it completed
 * (published or not), 1 when it failed, 130 when you stop waiting (the run
 * goes on in the cloud).
 */
export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...DIR_OPTION, since: { type: "string" }, until: { type: "string" }, force: { type: "boolean" }, epochs: { type: "string" }, "no-wait": { type: "boolean" }, json: { type: "boolean" } },
    USAGE,
  );
  const since = time(values.since, "since");
  const until = time(values.until, "until");
  if (since && until && since > until) throw new UsageError(`--since is after --until\nusage: ${USAGE}`);
  const epochs = int(values.epochs, "epochs", { min: 1, max: 10_000 });
  const topology = readTopology(dirOf(values.dir));
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-train" });
  const out = process.stdout;
  const err = process.stderr;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  try {
    const request = { reason: "manual" as const, detail: "tide train", force: values.force ?? false, ...(since ? { since: since.toISOString() } : {}), ...(until ? { until: until.toISOString() } : {}), ...(epochs ? { epochs } : {}) };
    const { runId, seq } = await requestTraining(nc.jetstream(), request, "tide://cli/train");
    if (values["no-wait"]) {
      out.write(values.json ? JSON.stringify({ runId, seq, status: "requested" }) + "\n" : `${runId}\n`);
      return 0;
    }
    err.write(`requested training run ${runId}\n`);
    const hint = setTimeout(() => err.write(`no trainer has claimed ${runId} yet: is \`tide cloud\` (or \`tide up\`) running against ${topology.dir}?\n`), CLAIM_HINT_MS);
    const bar = createProgressBar(err);
    try {
      for await (const { event } of readStream(nc, { stream: "TRAINING", domain: CLOUD_DOMAIN, subject: subjects.training(runId), fromSeq: seq, follow: true, signal: stop.signal })) {
        const ended = await show(nc, runId, event as TideEvent, bar, values.json === true, hint);
        if (ended !== undefined) return ended;
      }
    } finally {
      clearTimeout(hint);
      bar.end();
    }
    err.write(`stopped waiting; run ${runId} goes on in the cloud (tide status shows it)\n`);
    return 130;
  } finally {
    process.off("SIGINT", onSignal);
    await nc.close();
  }
}

/** Show one event of the run; returns the exit code once the run has ended. */
async function show(nc: NatsConnection, runId: string, event: TideEvent, bar: ReturnType<typeof createProgressBar>, json: boolean, hint: NodeJS.Timeout): Promise<number | undefined> {
  const err = process.stderr;
  switch (event.type) {
    case "tide.training.started.v1": {
      clearTimeout(hint);
      const d = event.data;
      err.write(
        `run ${runId}: cloud READINGS seq ${d.fromSeq}..${d.toSeq} (${d.readings} readings, ${d.devices} devices; ` +
          `${d.samples.train}/${d.samples.validation}/${d.samples.test} train/validation/test samples), dataset ${d.datasetHash.slice(0, 12)}, ${d.backend}, ${d.epochs} epochs\n`,
      );
      return undefined;
    }
    case "tide.training.epoch.completed.v1":
      bar.update(event.data);
      return undefined;
    case "tide.training.completed.v1": {
      bar.end();
      const evaluated = await evaluationOf(nc, event.data.version);
      process.stdout.write(json ? JSON.stringify({ ...event.data, evaluation: evaluated ?? null }) + "\n" : summary(runId, event.data, evaluated) + "\n");
      return 0;
    }
    case "tide.training.failed.v1":
      bar.end();
      if (json) process.stdout.write(JSON.stringify({ runId, failed: event.data }) + "\n");
      err.write(`run ${runId} failed${event.data.stage ? ` (${event.data.stage})` : ""}: ${event.data.reason}\n`);
      return 1;
    default:
      return undefined;
  }
}
