import type { NatsConnection } from "nats";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { silentLogger } from "../src/log.ts";
import { selectBackend } from "../src/model/backend.ts";
import { parseTrainingConfig, trainingConfigPath, type TrainingConfigInput } from "../src/training/config.ts";
import { requestTraining } from "../src/training/run-events.ts";
import { createTrainer, type Trainer } from "../src/training/trainer.ts";
import { eventually, givenTopology } from "./harness.ts";
import { TIDE } from "./tide-command.ts";
import { dataOf, givenSimulatedReadings, givenStreams, runEnded, runEvents } from "./training-support.ts";

const EDGE = "1";
/** A run long enough to be caught in the middle. */
const SLOW: TrainingConfigInput = { epochs: 5000, batchSize: 8, minTrainSamples: 50, schedule: { everyMinutes: 0 }, drift: { enabled: false } };

let given: Awaited<ReturnType<typeof givenTopology>>;
let cloudNc: NatsConnection;
const trainers: Trainer[] = [];

async function startTrainer(config: TrainingConfigInput): Promise<Trainer> {
  const { tf, backend } = await selectBackend({ logger: silentLogger });
  const trainer = createTrainer({ nc: await given.connect(CLOUD_DOMAIN), tf, backend, config: parseTrainingConfig(config) });
  trainers.push(trainer);
  await trainer.start();
  return trainer;
}

const epochsOf = async (runId: string) => (await runEvents(cloudNc, runId)).filter((e) => e.type === "tide.training.epoch.completed.v1").length;

beforeAll(async () => {
  given = await givenTopology({ edges: [EDGE] });
  cloudNc = await given.connect(CLOUD_DOMAIN);
  const edgeNc = await given.connect(EDGE);
  await givenStreams(edgeNc, cloudNc, EDGE);
  await givenSimulatedReadings(edgeNc, cloudNc, EDGE, 300, 1200);
});

// Each test's trainers stop with it: a trainer left running would claim the next test's requests.
afterEach(async () => {
  for (const trainer of trainers.splice(0)) await trainer.stop();
});

afterAll(async () => {
  await given?.cleanup();
});

describe("a trainer that dies mid-run", () => {
  it("leaves a run that the next trainer marks failed, not one left hanging", async () => {
    // A real `tide cloud` process, with a slow training configuration.
    writeFileSync(trainingConfigPath(given.dir), JSON.stringify(SLOW));
    const cloud: ChildProcess = spawn(process.execPath, [TIDE, "cloud", "--dir", given.dir], { env: { ...process.env, TIDE_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    cloud.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await eventually(() => stdout, (s) => s.includes("cloud services up"), 60_000, "tide cloud up");
      const { runId } = await requestTraining(cloudNc.jetstream(), { reason: "manual" }, "tide://test");
      await eventually(() => epochsOf(runId), (n) => n >= 2, 60_000, "two epochs of the run");
      cloud.kill("SIGKILL");
      await once(cloud, "exit");

      // Killed mid-run: started, some epochs, no end. Nothing in the stream says it is over.
      const before = await runEvents(cloudNc, runId);
      const trainerId = dataOf(before, "tide.training.started.v1").trainer;
      expect(before.at(-1)!.type).toBe("tide.training.epoch.completed.v1");

      // The next trainer to start pings the dead one, gets no answer, and ends the run.
      const next = await startTrainer({ ...SLOW, recovery: { pingTimeoutMs: 500 } });
      const events = await runEnded(cloudNc, runId, 20_000);
      const failed = dataOf(events, "tide.training.failed.v1");
      expect(failed.stage).toBe("crash");
      expect(failed.reason).toContain(`trainer ${trainerId} does not answer`);
      expect(events.some((e) => e.type === "tide.training.completed.v1")).toBe(false);
      // The next trainer folds its own verdict from the stream: it learns of it a moment after appending it.
      await eventually(() => next.runs.get(runId)?.status, (status) => status === "failed", 20_000, "the next trainer's run book shows the run failed");
    } finally {
      if (cloud.exitCode === null && cloud.signalCode === null) cloud.kill("SIGKILL");
    }
  });
});

describe("trainers sharing one hub", () => {
  it("never both run the same request: exactly one claims it", async () => {
    const config = { epochs: 2, batchSize: 32, minTrainSamples: 50, schedule: { everyMinutes: 0 }, drift: { enabled: false } };
    const [a, b] = [await startTrainer(config), await startTrainer(config)];
    const { runId } = await requestTraining(cloudNc.jetstream(), { reason: "manual" }, "tide://test");
    const events = await runEnded(cloudNc, runId);
    await Promise.all([a.idle(), b.idle()]);
    const started = events.filter((e) => e.type === "tide.training.started.v1");
    expect(started).toHaveLength(1);
    expect(events.some((e) => e.type === "tide.training.completed.v1")).toBe(true);
    const outcomes = [...a.outcomes(), ...b.outcomes()].filter((o) => o.runId === runId).map((o) => o.outcome);
    expect(outcomes.filter((o) => o === "completed")).toHaveLength(1);
    expect(outcomes.filter((o) => o !== "completed" && o !== "taken")).toEqual([]);
  });

  it("a trainer stopped mid-run ends its run failed (shutdown)", async () => {
    const trainer = await startTrainer(SLOW);
    const { runId } = await requestTraining(cloudNc.jetstream(), { reason: "manual" }, "tide://test");
    await eventually(() => epochsOf(runId), (n) => n >= 1, 60_000, "an epoch of the run");
    await trainer.stop();
    const failed = dataOf(await runEnded(cloudNc, runId), "tide.training.failed.v1");
    expect(failed.stage).toBe("shutdown");
    expect(failed.reason).toMatch(new RegExp(`^trainer ${trainer.trainerId} stopped after epoch \\d+ of 5000$`));
  });
});
