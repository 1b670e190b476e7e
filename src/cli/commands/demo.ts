import { createLogger } from "../../log.ts";
import { renderSummary, runDemo } from "../../demo/run.ts";
import { DIR_OPTION, dirOf, int, num, parse } from "../args.ts";
import { UsageError } from "../../errors.ts";
import { portsOf } from "./up.ts";

const USAGE =
  "tide demo [--edges N] [--duration S] [--devices N] [--rate HZ] [--train-after N] [--task-every S] [--dir D] [--ports standard|free]";

/** `npm start`: the whole system with simulated devices, training, rollouts and tasks; a live status and the dashboard. */
export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...DIR_OPTION, edges: { type: "string" }, duration: { type: "string" }, ports: { type: "string" }, devices: { type: "string" }, rate: { type: "string" }, "train-after": { type: "string" }, "task-every": { type: "string" } },
    USAGE,
  );
  const rate = num(values.rate, "rate") ?? 2;
  if (!(rate > 0 && rate <= 1000)) throw new UsageError(`--rate must be above 0 and at most 1000, got ${values.rate}`);
  const taskEvery = num(values["task-every"], "task-every") ?? 3;
  if (!(taskEvery >= 0.2 && taskEvery <= 3600)) throw new UsageError(`--task-every must be between 0.2 and 3600 seconds, got ${values["task-every"]}`);
  const duration = int(values.duration, "duration", { min: 1, max: 86_400 });
  const dir = dirOf(values.dir);
  // Logs go to stderr; warnings only unless --log-level says otherwise, so the live status stays readable.
  const logger = createLogger({ level: process.env.TIDE_LOG_LEVEL ?? "warn" });
  const out = (line = "") => process.stdout.write(line + "\n");
  const result = await runDemo({
    dir,
    edges: int(values.edges, "edges", { min: 1, max: 16 }) ?? 2,
    ports: portsOf(values.ports),
    ...(duration === undefined ? {} : { durationMs: duration * 1000 }),
    devices: int(values.devices, "devices", { min: 2, max: 1000 }) ?? 4,
    rate,
    trainAfter: int(values["train-after"], "train-after", { min: 50, max: 10_000_000 }) ?? 400,
    taskEveryMs: taskEvery * 1000,
    logger,
    out,
    live: process.stdout.isTTY === true,
  });
  if (!result.ran) {
    out(`Stopped (${result.stoppedBy}) during start-up: everything started was stopped; state stays in ${dir}.`);
    return 0;
  }
  for (const line of renderSummary(result.summary, dir)) out(line);
  return 0;
}
