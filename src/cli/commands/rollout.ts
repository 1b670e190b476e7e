import type { NatsConnection } from "nats";
import { UsageError } from "../../errors.ts";
import type { TideEvent } from "../../events/catalogue.ts";
import { subjects } from "../../events/subjects.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { readRolloutState, requestRollback, requestRollout, type RolloutRequest } from "../../rollout/request.ts";
import type { Rollout } from "../../rollout/types.ts";
import { readStream } from "../../store/read-stream.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, num, parse } from "../args.ts";

const USAGE = `tide rollout VERSION [--strategy canary|all] [--edges ID,..] [--canaries N] [--min-inferences N] [--observe S] [--max-error-ratio X] [--max-latency-ratio X] [--stage-timeout S] [--no-wait] [--json] [--dir D]
tide rollout rollback [ROLLOUT] [--reason TEXT] [--json] [--dir D]
tide rollout show ROLLOUT [--json] [--dir D]
tide rollout list [--json] [--dir D]`;
/** After this long without a controller planning the request, say what may be missing. */
const PLAN_HINT_MS = 10_000;

/**
 * `tide rollout`: ask the cloud's rollout controller to put a published model
 * on the edges and follow it stage by stage (exit 0 when it completed, 1 when
 * it was rolled back or rejected); `rollback` a rollout by hand; `show` one;
 * `list` them.
 */
export async function rolloutCommand(argv: string[]): Promise<number> {
  const [sub] = argv;
  if (sub === "rollback") return rollback(argv.slice(1));
  if (sub === "show") return show(argv.slice(1));
  if (sub === "list") return list(argv.slice(1));
  return start(argv);
}

async function withCloud<T>(dir: string | undefined, name: string, run: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectTo(readTopology(dirOf(dir)), CLOUD_DOMAIN, { name });
  try {
    return await run(nc);
  } finally {
    await nc.close();
  }
}

async function start(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...DIR_OPTION,
      strategy: { type: "string" },
      edges: { type: "string" },
      canaries: { type: "string" },
      "min-inferences": { type: "string" },
      observe: { type: "string" },
      "max-error-ratio": { type: "string" },
      "max-latency-ratio": { type: "string" },
      "stage-timeout": { type: "string" },
      "no-wait": { type: "boolean" },
      json: { type: "boolean" },
    },
    USAGE,
    1,
  );
  const version = positionals[0];
  if (!version) throw new UsageError(`a model VERSION is required\nusage: ${USAGE}`);
  const strategy = values.strategy ?? "canary";
  if (strategy !== "canary" && strategy !== "all") throw new UsageError(`--strategy must be canary or all, got '${strategy}'`);
  const seconds = (value: string | undefined, name: string) => {
    const s = num(value, name);
    if (s !== undefined && s <= 0) throw new UsageError(`--${name} must be positive, got ${s}`);
    return s === undefined ? undefined : Math.round(s * 1000);
  };
  const criteria = {
    ...optional("minInferences", int(values["min-inferences"], "min-inferences", { min: 1 })),
    ...optional("observeMs", seconds(values.observe, "observe")),
    ...optional("maxErrorRatio", num(values["max-error-ratio"], "max-error-ratio")),
    ...optional("maxLatencyRatio", num(values["max-latency-ratio"], "max-latency-ratio")),
    ...optional("stageTimeoutMs", seconds(values["stage-timeout"], "stage-timeout")),
  };
  const request: RolloutRequest = {
    version,
    strategy,
    ...(values.edges ? { edges: values.edges.split(",").map((e) => e.trim()).filter(Boolean) } : {}),
    ...optional("canaries", int(values.canaries, "canaries", { min: 1 })),
    ...(Object.keys(criteria).length ? { criteria } : {}),
  };
  return withCloud(values.dir, "tide-rollout", async (nc) => {
    const { rolloutId, seq } = await requestRollout(nc, request, "cli");
    if (values["no-wait"]) {
      process.stdout.write(values.json ? JSON.stringify({ rolloutId, seq, status: "requested" }) + "\n" : `${rolloutId}\n`);
      return 0;
    }
    process.stderr.write(`requested rollout ${rolloutId} of ${version} (${strategy})\n`);
    return follow(nc, rolloutId, seq, values.json === true);
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Follows the rollout's events until it ends; Ctrl-C stops waiting (the rollout goes on). */
async function follow(nc: NatsConnection, rolloutId: string, fromSeq: number, json: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  const hint = setTimeout(() => process.stderr.write(`no rollout controller has planned ${rolloutId} yet: is \`tide cloud\` (or \`tide up\`) running? (another rollout may also be in progress)\n`), PLAN_HINT_MS);
  try {
    for await (const { event } of readStream(nc, { stream: "ROLLOUTS", domain: CLOUD_DOMAIN, subject: subjects.rollout(rolloutId), fromSeq, follow: true, signal: stop.signal })) {
      if (event.type !== "tide.rollout.requested.v1") clearTimeout(hint);
      if (json) process.stdout.write(JSON.stringify({ type: event.type, time: event.metadata.time, data: event.data }) + "\n");
      else process.stderr.write(describe(event) + "\n");
      if (event.type === "tide.rollout.completed.v1") return 0;
      if (event.type === "tide.rollout.rolled_back.v1" || event.type === "tide.rollout.rejected.v1") return 1;
    }
    process.stderr.write(`stopped waiting; rollout ${rolloutId} goes on in the cloud (tide rollout show ${rolloutId})\n`);
    return 130;
  } finally {
    clearTimeout(hint);
    process.off("SIGINT", onSignal);
  }
}

/** One rollout event, for people. */
export function describe(event: TideEvent): string {
  switch (event.type) {
    case "tide.rollout.requested.v1":
      return `requested ${event.data.version} (${event.data.strategy}) by ${event.data.requestedBy}`;
    case "tide.rollout.rejected.v1":
      return `rejected: ${event.data.reason}`;
    case "tide.rollout.planned.v1":
      return `planned ${event.data.version}${event.data.previousVersion ? ` (replacing ${event.data.previousVersion})` : ""}: ${event.data.stages.map((s) => `${s.name} [${s.edges.join(", ")}]`).join(" → ")}${(event.data.skipped ?? []).map((s) => `\n  skipped ${s.edge}: ${s.reason}`).join("")}`;
    case "tide.rollout.stage.started.v1":
      return `stage ${event.data.name} started on ${event.data.edges.join(", ")}`;
    case "tide.rollout.stage.completed.v1":
      return `stage ${event.data.name} passed:\n${event.data.verdicts.map((v) => `  ${v.edge}: ${v.reason}`).join("\n")}`;
    case "tide.rollout.completed.v1":
      return `completed: ${event.data.version} runs on every edge of the rollout`;
    case "tide.rollout.rolled_back.v1":
      return `rolled back (${event.data.trigger ?? "automatic"}) to ${event.data.toVersion ?? "each edge's previous model"}: ${event.data.reason}`;
    default:
      return event.type;
  }
}

async function rollback(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...DIR_OPTION, reason: { type: "string" }, json: { type: "boolean" } }, USAGE, 1);
  return withCloud(values.dir, "tide-rollout", async (nc) => {
    const result = await requestRollback(nc, { ...(positionals[0] ? { rolloutId: positionals[0] } : {}), ...(values.reason ? { reason: values.reason } : {}), requestedBy: "cli" });
    process.stdout.write(
      values.json ? JSON.stringify({ ...result, status: "rolled_back" }) + "\n" : `rolled back ${result.rolloutId} (${result.version}); its edges return to ${result.toVersion ?? "their previous model"}\n`,
    );
    return 0;
  });
}

/** A rollout's state for people: status, stage, each edge's progress. */
export function rolloutLines(r: Rollout): string[] {
  const lines = [`${r.rolloutId}  ${r.version}  ${r.status}${r.plan && r.stage >= 0 ? `  stage ${r.stage + 1}/${r.plan.stages.length} ${r.plan.stages[r.stage]!.name}` : ""}${r.outcome ? `  — ${r.outcome.reason}` : ""}`];
  for (const stage of r.plan?.stages ?? []) {
    for (const edge of stage.edges) {
      const p = r.edges.get(edge);
      const state = p?.failed ? `failed: ${p.failed.reason}` : p?.observed ? `observed ${p.observed.current.inferences} predictions` : p?.activated ? "activated" : "waiting";
      lines.push(`  ${stage.name.padEnd(7)} ${edge.padEnd(10)} ${state}`);
    }
  }
  for (const { edge, reason } of r.plan?.skipped ?? []) lines.push(`  ${"skipped".padEnd(7)} ${edge.padEnd(10)} ${reason}`);
  return lines;
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...DIR_OPTION, json: { type: "boolean" } }, USAGE, 1);
  const id = positionals[0];
  if (!id) throw new UsageError(`a ROLLOUT id is required\nusage: ${USAGE}`);
  return withCloud(values.dir, "tide-rollout", async (nc) => {
    const r = (await readRolloutState(nc)).rollouts.get(id);
    if (!r) throw new UsageError(`no rollout ${id} (tide rollout list shows them)`);
    process.stdout.write(values.json ? JSON.stringify(toJson(r)) + "\n" : rolloutLines(r).join("\n") + "\n");
    return 0;
  });
}

async function list(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION, json: { type: "boolean" } }, USAGE);
  return withCloud(values.dir, "tide-rollout", async (nc) => {
    const state = await readRolloutState(nc);
    const rollouts = state.order.map((id) => state.rollouts.get(id)!).reverse();
    if (values.json) process.stdout.write(JSON.stringify(rollouts.map(toJson)) + "\n");
    else process.stdout.write(rollouts.length ? rollouts.map((r) => rolloutLines(r)[0]).join("\n") + "\n" : "no rollouts yet\n");
    return 0;
  });
}

function toJson(r: Rollout) {
  return {
    rolloutId: r.rolloutId,
    version: r.version,
    status: r.status,
    stage: r.stage,
    stages: r.plan?.stages ?? [],
    skipped: r.plan?.skipped ?? [],
    previousVersion: r.plan?.previousVersion ?? null,
    outcome: r.outcome ?? null,
    edges: Object.fromEntries(r.edges),
  };
}
