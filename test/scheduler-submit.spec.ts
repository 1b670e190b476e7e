import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../src/errors.ts";
import { submitTask } from "../src/tasks/submit.ts";
import { eventually, givenFleet } from "./harness.ts";
import { appendReadings, dataOf, taskEvents, tide } from "./scheduler-support.ts";

describe("task submission: bad input is refused with clear errors, good input runs", () => {
  let given: Awaited<ReturnType<typeof givenFleet>>;
  let hub: NatsConnection;
  let api: string;

  beforeAll(async () => {
    given = await givenFleet({ edges: 1, heartbeatMs: 1000 });
    hub = await given.connect("cloud");
    api = given.fleet.cloud.httpUrl;
    await appendReadings(await given.connect("1"), "1", 100);
  });
  afterAll(async () => {
    await given?.cleanup();
  });

  const refused = async (input: unknown): Promise<ValidationError> => {
    const error = await submitTask(input, { nc: hub, edges: ["1"] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  };

  it.each([
    [{ kind: "Not A Kind" }, /^kind: kind: lower-case letters/],
    [{ kind: "aggregate", cpu: -1, data: { edge: "1" } }, /^cpu: Too small/],
    [{ kind: "aggregate", priority: 12, data: { edge: "1" } }, /^priority: Too big/],
    [{ kind: "aggregate", deadline: "2001-01-01T00:00:00Z", data: { edge: "1" } }, /^deadline: .* is not in the future/],
    [{ kind: "aggregate", data: { edge: "1", fromSeq: 50, toSeq: 10 } }, /^data.toSeq: 10 is before data.fromSeq 50/],
    [{ kind: "aggregate", data: { edge: "9" } }, /^data.edge: no edge '9' \(edges: 1\)/],
    [{ kind: "aggregate", data: { edge: "1" }, prio: 3 }, /Unrecognized key: "prio"/],
    [{ kind: "batch_inference" }, /^data: 'batch_inference' reads a stream range/],
    [{ kind: "aggregate", data: { edge: "1" }, payload: { maxDevices: "many" } }, /^payload.maxDevices: Invalid input: expected number/],
    [{ kind: "retrain", payload: { since: "last tuesday" } }, /^payload.since: Invalid ISO datetime/],
    [{ kind: "aggregate", data: { edge: "1", toSeq: 5000 } }, /^data.toSeq: 5000 is past the last sequence of edge-1 READINGS \(100\)/],
  ])("refuses %j", async (input, issue) => {
    const error = await refused(input);
    expect(error.issues.some((i) => issue.test(i)), error.issues.join("\n")).toBe(true);
    expect(error.message).toContain("invalid task");
  });

  it("takes a retried submission once, refuses another task under a taken id, and stores nothing for any refusal", async () => {
    const request = { id: "once-only", kind: "aggregate", data: { edge: "1" } };
    const first = await submitTask(request, { nc: hub });
    const retry = await submitTask(request, { nc: hub });
    expect([first.duplicate, retry.duplicate, retry.seq]).toEqual([false, true, first.seq]);
    const error = await refused({ ...request, priority: 9 });
    expect(error.issues).toEqual(["id: task 'once-only' already exists"]);
    expect(dataOf(await taskEvents(hub), "tide.task.submitted.v1").map((s) => s.taskId)).toEqual(["once-only"]);
  });

  it("POST /tasks answers 400 with the issues, 415 without JSON, and takes a good task", async () => {
    const post = (body: string, type = "application/json") => fetch(`${api}/tasks`, { method: "POST", headers: { "content-type": type }, body });
    const bad = await post(JSON.stringify({ kind: "aggregate", cpu: 0, priority: "high", data: { edge: "1" } }));
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; issues: string[] };
    expect(body.error).toBe("invalid task");
    expect(body.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^cpu: Too small/), expect.stringMatching(/^priority: Invalid input: expected number/)]));
    expect((await post("{not json")).status).toBe(400);
    expect((await post("kind=aggregate", "text/plain")).status).toBe(415);

    const good = await post(JSON.stringify({ kind: "aggregate", priority: 6, data: { edge: "1", fromSeq: 1, toSeq: 50 } }));
    expect(good.status).toBe(200);
    const { taskId } = (await good.json()) as { taskId: string };
    const done = await eventually(() => fetch(`${api}/tasks?id=${taskId}`).then((r) => r.json() as Promise<{ status: string; node: string; result: { readings: number } }>), (t) => t.status === "completed", 30_000, "task completed");
    expect(done).toMatchObject({ status: "completed", node: "edge-1", result: { readings: 50 } });
    expect((await fetch(`${api}/tasks?id=nope`)).status).toBe(404);
  });

  it("tide task submit exits 2 with the reason on bad input, and 0 with the task id on good input", async () => {
    const bad = await Promise.all([
      tide("task", "submit", "--dir", given.dir),
      tide("task", "submit", "aggregate", "--edge", "1", "--priority", "12", "--dir", given.dir),
      tide("task", "submit", "aggregate", "--edge", "1", "--payload", "{oops", "--dir", given.dir),
      tide("task", "submit", "aggregate", "--edge", "7", "--dir", given.dir),
      tide("task", "submit", "aggregate", "--edge", "1", "--deadline", "yesterday", "--dir", given.dir),
      tide("task", "submit", "aggregate", "--edge", "1", "--cpu", "0", "--dir", given.dir),
    ]);
    const messages = [/which kind of task\?/, /--priority must be between 0 and 9, got 12/, /--payload is not JSON/, /data.edge: no edge '7'/, /--deadline must be an ISO 8601 time/, /cpu: Too small/];
    bad.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(messages[i]!);
    });

    const good = await tide("task", "submit", "aggregate", "--edge", "1", "--from-seq", "1", "--to-seq", "10", "--wait", "--json", "--dir", given.dir);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ status: "completed", node: "edge-1", result: { readings: 10 } });
  });

  it("tide worker refuses a kind it does not know, with exit 2", async () => {
    const run = await tide("worker", "--kinds", "teleport", "--dir", given.dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown task kind(s): teleport");
  });
});
