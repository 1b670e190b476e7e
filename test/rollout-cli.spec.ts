import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { autoRolloutId } from "../src/rollout/decide.ts";
import { jsonLines, tide } from "./cli-support.ts";
import { eventually, givenFleet } from "./harness.ts";
import { publishTestModel, rolloutWhen, startFeeding, terminal, TEST_CRITERIA } from "./rollout-support.ts";

let given: Awaited<ReturnType<typeof givenFleet>>;
let cloud: NatsConnection;
let feeding: ReturnType<typeof startFeeding>;
/** The rollout `tide rollout` started (and `tide rollout rollback` rolled back). */
let cliRollout = "";
const active = (edge: string) => given.fleet.edges.get(edge)!.engine.activeVersion();

beforeAll(async () => {
  given = await givenFleet({ edges: ["1", "2"], rollout: { auto: "canary", criteria: TEST_CRITERIA } });
  cloud = await given.connect(CLOUD_DOMAIN);
  const devices = new Map<string, NatsConnection>();
  for (const edge of ["1", "2"]) devices.set(edge, await given.connect(edge));
  feeding = startFeeding(devices);
}, 120_000);

/** The lines of one rollout in `tide status`: its line, then its table of stages and edges. */
function statusBlock(stdout: string, rolloutId: string): string[] {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`  ${rolloutId} `));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("    "));
  return lines.slice(start, end < 0 ? undefined : end);
}

afterAll(async () => {
  await feeding?.stop();
  await given?.cleanup();
});

describe("rollouts through the cloud services, the CLI and the HTTP API", () => {
  it("rolls out each newly published model by itself (auto policy: canary)", async () => {
    await publishTestModel(cloud, given.dir, "m-auto-1");
    const done = await rolloutWhen(cloud, autoRolloutId("m-auto-1"), terminal);
    expect(done.status, done.outcome?.reason).toBe("completed");
    expect(done.request?.requestedBy).toBe("auto-rollout policy");
    expect(done.plan?.stages.map((s) => s.name)).toEqual(["canary", "rest"]);
    expect([active("1"), active("2")]).toEqual(["m-auto-1", "m-auto-1"]);
  }, 120_000);

  it("tide rollout follows a rollout to its end; tide status shows it; tide rollout rollback undoes it", async () => {
    // Published with the auto policy on: its auto rollout goes first; the CLI's then rolls the same version out again.
    await publishTestModel(cloud, given.dir, "m-cli-1");
    expect((await rolloutWhen(cloud, autoRolloutId("m-cli-1"), terminal)).status).toBe("completed");
    const run = await tide("rollout", "m-cli-1", "--strategy", "all", "--min-inferences", "5", "--dir", given.dir);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/requested rollout r-\S+ of m-cli-1 \(all\)/);
    expect(run.stderr).toMatch(/stage all started on 1, 2/);
    expect(run.stderr).toMatch(/completed: m-cli-1 runs on every edge/);
    const rolloutId = /requested rollout (r-\S+)/.exec(run.stderr)![1]!;
    cliRollout = rolloutId;

    // Heartbeats say which version each edge runs: wait for both to report m-cli-1.
    const runsOnEdge = (stdout: string, edge: string) => new RegExp(`^\\s+edge-${edge}\\s+${edge}\\s+m-cli-1\\s`, "m").test(stdout);
    const status = await eventually(() => tide("status", "--dir", given.dir), (s) => s.code !== 0 || (runsOnEdge(s.stdout, "1") && runsOnEdge(s.stdout, "2")), 30_000, "tide status showing m-cli-1 on both edges");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("Models on the edges (from heartbeats)");
    expect(status.stdout).toContain("Rollouts");
    // The rollout's line: version (and what it replaced), status, and its stage column (1 of 1, named all).
    const block = statusBlock(status.stdout, rolloutId);
    expect(block[0]).toMatch(new RegExp(`^  ${rolloutId}\\s+m-cli-1 \\(from m-auto-1\\)\\s+completed\\s+stage 1/1 all(\\s|$)`));
    // Then one row per edge of each stage: both edges of stage all observed the new version.
    expect(block[1]).toMatch(/^\s+STAGE\s+EDGE\s+STATE\s+DETAIL\s+AT$/);
    expect(block.slice(2).map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([
      ["all", "1", "observed"],
      ["all", "2", "observed"],
    ]);

    const shown = await tide("rollout", "show", rolloutId, "--json", "--dir", given.dir);
    expect(shown.code, shown.stderr).toBe(0);
    expect(jsonLines<{ status: string; stages: unknown[] }>(shown.stdout)[0]).toMatchObject({ status: "completed", stages: [{ name: "all", edges: ["1", "2"] }] });

    const back = await tide("rollout", "rollback", "--json", "--dir", given.dir);
    expect(back.code, back.stderr).toBe(0);
    expect(jsonLines(back.stdout)[0]).toEqual({ rolloutId, version: "m-cli-1", toVersion: "m-auto-1", status: "rolled_back" });
    await rolloutWhen(cloud, rolloutId, (r) => r?.status === "rolled_back");
    for (const edge of ["1", "2"]) await eventually(() => active(edge), (v) => v === "m-auto-1", 30_000, `edge ${edge} back on m-auto-1`);

    // Nothing older can be rolled back now: edges follow the newest planned rollout, this one. Refused, nothing appended.
    const again = await tide("rollout", "rollback", "--dir", given.dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`rollout ${rolloutId} \\(m-cli-1\\) is already rolled back .*roll it out \\(tide rollout VERSION\\)`));
    const superseded = await tide("rollout", "rollback", autoRolloutId("m-cli-1"), "--dir", given.dir);
    expect(superseded.code).toBe(1);
    expect(superseded.stderr).toMatch(new RegExp(`rollout ${autoRolloutId("m-cli-1")} \\(m-cli-1\\) is superseded by ${rolloutId} \\(m-cli-1, rolled_back\\)`));
    expect((await rolloutWhen(cloud, autoRolloutId("m-cli-1"), terminal)).status).toBe("completed");
    for (const edge of ["1", "2"]) expect(active(edge)).toBe("m-auto-1");
  }, 180_000);

  it("tide rollout refuses what it cannot do with a clear message and exit code", async () => {
    const missing = await tide("rollout", "m-nope", "--dir", given.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/model version m-nope is not published/);
    const usage = await tide("rollout", "m-auto-1", "--strategy", "sideways", "--dir", given.dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--strategy must be canary or all/);
  }, 60_000);

  it("POST /rollouts validates its body, starts a rollout, and GET /rollouts shows its stages and edges", async () => {
    const url = given.fleet.cloud.httpUrl;
    const bad = await fetch(`${url}/rollouts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version: 5 }) });
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${url}/rollouts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version: "m-nope" }) });
    expect(unknown.status).toBe(404);
    const ok = await fetch(`${url}/rollouts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version: "m-cli-1", strategy: "canary" }) });
    expect(ok.status).toBe(200);
    const { rolloutId } = (await ok.json()) as { rolloutId: string };
    expect((await rolloutWhen(cloud, rolloutId, terminal)).status).toBe("completed");
    const detail = await eventually(
      async () => (await (await fetch(`${url}/rollouts?id=${rolloutId}`)).json()) as { status: string; stages: Array<{ name: string; verdicts: unknown[] | null }>; edges: Array<{ edge: string; status: string }> },
      (d) => d.status === "completed" && d.edges.length === 2 && d.edges.every((e) => e.status === "observed"),
      30_000,
      "rollout projected",
    );
    expect(detail.stages.map((s) => [s.name, s.verdicts?.length])).toEqual([
      ["canary", 1],
      ["rest", 1],
    ]);
    expect((await fetch(`${url}/rollouts?id=nope`)).status).toBe(404);
    // A rollback asks for nothing but an optional rollout id and reason: anything else is refused, nothing appended.
    const post = (body: unknown) => fetch(`${url}/rollouts/rollback`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const junk = await post({ rolloutId: "no spaces allowed", force: true });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { issues: string[] }).issues.join(" ")).toMatch(/rolloutId|force/);
    expect((await post({ rolloutId: "r-unknown" })).status).toBe(404);
    // Only the newest planned rollout (this one) can be rolled back: a superseded or already rolled-back one is refused with 400.
    const superseded = await post({ rolloutId: autoRolloutId("m-auto-1") });
    expect(superseded.status).toBe(400);
    expect(((await superseded.json()) as { error: string }).error).toMatch(new RegExp(`is superseded by ${rolloutId} \\(m-cli-1, completed\\)`));
    const rolledBack = await post({ rolloutId: cliRollout });
    expect(rolledBack.status).toBe(400);
    expect(((await rolledBack.json()) as { error: string }).error).toMatch(/is already rolled back/);
    expect((await rolloutWhen(cloud, autoRolloutId("m-auto-1"), terminal)).status).toBe("completed");
    expect((await rolloutWhen(cloud, rolloutId, terminal)).status).toBe("completed");
  }, 180_000);
});
