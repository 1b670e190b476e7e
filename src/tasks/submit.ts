import type { NatsConnection } from "nats";
import { randomBytes } from "node:crypto";
import { ConcurrencyError, ValidationError, errorMessage } from "../errors.ts";
import { formatIssues } from "../events/catalogue.ts";
import { createEvent } from "../events/envelope.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN, deterministicId, edgeDomain } from "../ids.ts";
import { appendToStream } from "../store/append-to-stream.ts";
import type { TaskSpec } from "../scheduler/types.ts";
import { builtInKind } from "./kinds/index.ts";
import { TaskRequest, type ParsedTaskRequest } from "./request.ts";

/** Where to submit, and what to check the request against. */
export interface SubmitOptions {
  /** A connection that reaches the cloud (and the data's edge, to size the range). */
  nc: NatsConnection;
  /** The fleet's edge ids: data on any other edge is refused (default: not checked). */
  edges?: readonly string[];
  /** `ce-source` of the event (default `tide://cloud/tasks`). */
  source?: string;
  now?: number;
}

/** A stored submission. */
export interface SubmittedTask {
  taskId: string;
  /** TASKS sequence of `tide.task.submitted.v1`. */
  seq: number;
  spec: TaskSpec;
  /** True when this exact request was submitted already (a retry): nothing new was stored. */
  duplicate: boolean;
}

const invalid = (issues: string[]) => new ValidationError(`invalid task: ${issues.join("; ")}`, issues);

/** Checks no schema can make: kind payloads, deadline in the future, a range that makes sense, a known edge. */
function check(request: ParsedTaskRequest, options: SubmitOptions): string[] {
  const issues: string[] = [];
  const now = options.now ?? Date.now();
  if (request.deadline && Date.parse(request.deadline) <= now) issues.push(`deadline: ${request.deadline} is not in the future`);
  const { data } = request;
  if (data?.fromSeq !== undefined && data.toSeq !== undefined && data.toSeq < data.fromSeq) issues.push(`data.toSeq: ${data.toSeq} is before data.fromSeq ${data.fromSeq}`);
  if (data?.edge && options.edges && !options.edges.includes(data.edge)) issues.push(`data.edge: no edge '${data.edge}' (edges: ${options.edges.join(", ") || "none"})`);
  const kind = builtInKind(request.kind);
  if (kind?.readsData && !data) issues.push(`data: '${request.kind}' reads a stream range: give data (edge, stream, fromSeq, toSeq)`);
  if (kind?.payload) {
    const parsed = kind.payload.safeParse(request.payload);
    if (!parsed.success) issues.push(...formatIssues(parsed.error).map((i) => `payload.${i}`));
  }
  return issues;
}

/** Fill the range and its size from the stream as it stands, and refuse a range it does not hold. */
async function resolveData(nc: NatsConnection, data: NonNullable<ParsedTaskRequest["data"]>): Promise<NonNullable<TaskSpec["data"]>> {
  const domain = data.edge ? edgeDomain(data.edge) : CLOUD_DOMAIN;
  let state;
  try {
    const jsm = await nc.jetstreamManager({ domain, checkAPI: false, timeout: 3000 });
    state = (await jsm.streams.info(data.stream)).state;
  } catch (error) {
    throw invalid([`data: cannot read stream ${data.stream} on ${domain}: ${errorMessage(error)}`]);
  }
  const fromSeq = data.fromSeq ?? Math.max(1, state.first_seq);
  const toSeq = data.toSeq ?? state.last_seq;
  if (toSeq < fromSeq || state.messages === 0) throw invalid([`data: ${domain} ${data.stream} holds no messages in ${fromSeq}..${toSeq}`]);
  if (toSeq > state.last_seq) throw invalid([`data.toSeq: ${toSeq} is past the last sequence of ${domain} ${data.stream} (${state.last_seq})`]);
  const bytes = data.bytes ?? Math.round((state.bytes / Math.max(1, state.messages)) * (toSeq - fromSeq + 1));
  return { ...(data.edge ? { edge: data.edge } : {}), stream: data.stream, fromSeq, toSeq, bytes };
}

/** A fresh task id: time-ordered, then random. */
export function newTaskId(): string {
  return `t${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/**
 * Submit a task: validate it (a ValidationError lists every issue), size its
 * data range, and append `tide.task.submitted.v1` to `tide.task.<id>`. The
 * event id derives from the task id and the request, so retrying the same
 * request stores it once (`duplicate`); the append expects an empty subject,
 * so a different request under a taken id is refused.
 */
export async function submitTask(input: unknown, options: SubmitOptions): Promise<SubmittedTask> {
  const parsed = TaskRequest.safeParse(input);
  if (!parsed.success) throw invalid(formatIssues(parsed.error));
  const request = parsed.data;
  const issues = check(request, options);
  if (issues.length) throw invalid(issues);
  const taskId = request.id ?? newTaskId();
  const spec: TaskSpec = {
    taskId,
    kind: request.kind,
    needs: { cpu: request.cpu, memoryMb: request.memoryMb },
    priority: request.priority,
    ...(request.deadline ? { deadline: request.deadline } : {}),
    ...(request.data ? { data: await resolveData(options.nc, request.data) } : {}),
    payload: request.payload,
  };
  const event = createEvent({ type: "tide.task.submitted.v1", data: spec }, { source: options.source ?? "tide://cloud/tasks", id: deterministicId("task.submitted", taskId, JSON.stringify(request)) });
  try {
    const ack = await appendToStream(options.nc.jetstream({ domain: CLOUD_DOMAIN }), subjects.task(taskId), event, { expectedLastSubjectSequence: 0 });
    return { taskId, seq: ack.seq, spec, duplicate: ack.duplicate };
  } catch (error) {
    if (error instanceof ConcurrencyError) throw invalid([`id: task '${taskId}' already exists`]);
    throw error;
  }
}
