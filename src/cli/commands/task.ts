import { UsageError, ValidationError } from "../../errors.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { readTaskHistory, waitForTask, type TaskHistory } from "../../tasks/history.ts";
import { submitTask } from "../../tasks/submit.ts";
import type { TaskRequest } from "../../tasks/request.ts";
import { connectTo, readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, num, parse } from "../args.ts";

const SUBMIT_USAGE =
  "tide task submit KIND [--cpu N] [--memory MB] [--priority 0-9] [--deadline T] [--edge ID | --data-edge ID] [--stream S] [--from-seq N] [--to-seq N] [--bytes N] [--payload JSON] [--id ID] [--wait] [--json] [--dir D]";
const SHOW_USAGE = "tide task show ID [--json] [--dir D]";
const USAGE = `${SUBMIT_USAGE}\n       ${SHOW_USAGE}`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A deadline: ISO 8601, epoch milliseconds, or a duration from now (`30s`, `+5m`). */
export function deadlineOf(value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const ahead = /^\+?(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
  if (ahead) return new Date(now + Number(ahead[1]) * UNITS[ahead[2]!]!).toISOString();
  if (/^\d{10,}$/.test(value)) return new Date(Number(value)).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new UsageError(`--deadline must be an ISO 8601 time, epoch milliseconds, or a duration from now like 30s; got '${value}'`);
  return new Date(t).toISOString();
}

function payloadOf(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`--payload is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError("--payload must be a JSON object");
  return parsed as Record<string, unknown>;
}

function describe(h: TaskHistory): string {
  const lines = [`task ${h.taskId} (${h.kind}): ${h.status}${h.node ? ` on ${h.node}` : ""}, attempt ${h.attempt}`];
  for (const e of h.events) {
    const d = e.data as Record<string, unknown>;
    const what = e.type.replace(/^tide\.task\.|\.v\d+$/g, "");
    const detail =
      what === "assigned"
        ? `→ ${String(d.node)} estimate ${JSON.stringify(d.estimate)}${d.note ? ` (${String(d.note)})` : ""}`
        : what === "completed"
          ? `on ${String(d.node)} actual ${JSON.stringify(d.actual)} result ${JSON.stringify(d.result)}`
          : JSON.stringify(d);
    lines.push(`  ${String(e.seq).padStart(6)}  ${e.time}  ${what.padEnd(11)} ${what === "submitted" ? "" : detail}`.trimEnd());
  }
  return lines.join("\n");
}

async function submit(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      ...DIR_OPTION,
      cpu: { type: "string" },
      memory: { type: "string" },
      priority: { type: "string" },
      deadline: { type: "string" },
      edge: { type: "string" },
      "data-edge": { type: "string" },
      stream: { type: "string" },
      "from-seq": { type: "string" },
      "to-seq": { type: "string" },
      bytes: { type: "string" },
      payload: { type: "string" },
      id: { type: "string" },
      wait: { type: "boolean" },
      json: { type: "boolean" },
    },
    SUBMIT_USAGE,
    1,
  );
  const kind = positionals[0];
  if (!kind) throw new UsageError(`which kind of task?\nusage: ${SUBMIT_USAGE}`);
  if (values.edge && values["data-edge"] && values.edge !== values["data-edge"]) throw new UsageError("--edge and --data-edge name the same thing: give one");
  const edge = values.edge ?? values["data-edge"];
  const [fromSeq, toSeq, bytes] = [int(values["from-seq"], "from-seq", { min: 1 }), int(values["to-seq"], "to-seq", { min: 1 }), int(values.bytes, "bytes", { min: 0 })];
  const hasData = edge !== undefined || values.stream !== undefined || fromSeq !== undefined || toSeq !== undefined || bytes !== undefined;
  const deadline = deadlineOf(values.deadline);
  const payload = payloadOf(values.payload);
  const request: TaskRequest = {
    kind,
    ...(values.id ? { id: values.id } : {}),
    ...(values.cpu === undefined ? {} : { cpu: num(values.cpu, "cpu") }),
    ...(values.memory === undefined ? {} : { memoryMb: num(values.memory, "memory") }),
    ...(values.priority === undefined ? {} : { priority: int(values.priority, "priority", { min: 0, max: 9 }) }),
    ...(deadline ? { deadline } : {}),
    ...(payload ? { payload } : {}),
    ...(hasData ? { data: { ...(edge ? { edge } : {}), ...(values.stream ? { stream: values.stream } : {}), ...(fromSeq ? { fromSeq } : {}), ...(toSeq ? { toSeq } : {}), ...(bytes === undefined ? {} : { bytes }) } } : {}),
  };
  const topology = readTopology(dirOf(values.dir));
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-task", maxReconnectAttempts: 0 });
  try {
    let submitted;
    try {
      submitted = await submitTask(request, { nc, edges: topology.edges.map((e) => e.id), source: "tide://cli/task" });
    } catch (error) {
      // Bad input is a usage error here: exit 2 with every issue.
      if (error instanceof ValidationError) throw new UsageError(`${error.message}\nusage: ${SUBMIT_USAGE}`);
      throw error;
    }
    const { taskId, seq, spec } = submitted;
    if (!values.wait) {
      process.stdout.write(values.json ? JSON.stringify({ taskId, seq, task: spec }) + "\n" : `task ${taskId} submitted (TASKS seq ${seq})\n`);
      return 0;
    }
    if (!values.json) process.stderr.write(`task ${taskId} submitted (TASKS seq ${seq}); waiting for it to finish...\n`);
    const history = await waitForTask(nc, taskId);
    process.stdout.write(values.json ? JSON.stringify(history) + "\n" : describe(history) + "\n");
    return history.status === "completed" ? 0 : 1;
  } finally {
    await nc.close();
  }
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...DIR_OPTION, json: { type: "boolean" } }, SHOW_USAGE, 1);
  const id = positionals[0];
  if (!id) throw new UsageError(`which task?\nusage: ${SHOW_USAGE}`);
  const topology = readTopology(dirOf(values.dir));
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-task", maxReconnectAttempts: 0 });
  try {
    const history = await readTaskHistory(nc, id);
    process.stdout.write(values.json ? JSON.stringify(history) + "\n" : describe(history) + "\n");
    return 0;
  } finally {
    await nc.close();
  }
}

/** `tide task submit KIND ...` and `tide task show ID`. */
export async function taskCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "submit") return submit(rest);
  if (sub === "show") return show(rest);
  throw new UsageError(`${sub ? `unknown task command '${sub}'` : "which task command?"}\nusage: ${USAGE}`);
}
