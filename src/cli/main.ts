import { TideError, ErrorCode, errorMessage } from "../errors.ts";
import { auditCommand } from "./commands/audit.ts";
import { benchCommand } from "./commands/bench.ts";
import { certsCommand } from "./commands/certs.ts";
import { cloudCommand } from "./commands/cloud.ts";
import { demoCommand } from "./commands/demo.ts";
import { deviceCommand } from "./commands/device.ts";
import { edgeCommand } from "./commands/edge.ts";
import { projectCommand } from "./commands/project.ts";
import { publishCommand } from "./commands/publish.ts";
import { replayCommand } from "./commands/replay.ts";
import { rolloutCommand } from "./commands/rollout.ts";
import { simulateCommand } from "./commands/simulate.ts";
import { statusCommand } from "./commands/status.ts";
import { streamsCommand } from "./commands/streams.ts";
import { taskCommand } from "./commands/task.ts";
import { trainCommand } from "./commands/train.ts";
import { upCommand } from "./commands/up.ts";
import { workerCommand } from "./commands/worker.ts";

const HELP = `tide — cloud-edge collaborative computing on NATS JetStream

usage: tide <command> [options]

  up       [--edges N] [--cluster N] [--dir D] [--ports standard|free]   hub (or an N-server hub cluster) + N edge leaf nodes + services
  demo     [--edges N] [--duration S] [--devices N] [--rate HZ] [--dir D]   the whole system with simulated devices, live status, dashboard (npm start)
  edge     --id ID [--http-port P] [--model FILE]          one edge runtime against its running leaf node
  cloud                                                     the cloud services against the running hub
  streams  apply [--dir D]                                  apply the stream catalogue, idempotently
  publish  --edge ID --device ID --temperature X --humidity Y   one reading through the edge's ingest
  device   add --edge ID DEVICE [--json]                     issue a device's NATS and MQTT credentials (its own subjects only)
  certs    [--edges N | --edge ID ...] [--host H ...] [--force]   TLS certificates for the leaf links (a CA, the hub, each edge)
  simulate --edge ID [--devices N] [--rate HZ] [--seed S] [--count N] [--duration S] [--faulty N] [--anomaly-rate P] [--start T] [--speed X]   simulated climate devices, faults included
  replay   STREAM [--edge ID] [--subject S] [--since T] [--until T] [--from-seq N] [--to-seq N] [--format table|json|csv]   a stream's events in order
  project  rebuild NAME [--edge ID] [--as-of T] [--json]    rebuild a projection from its stream
  project  run [--edge ID]                                  keep projections up to date (a process of its own)
  audit    decision EVENT_ID | model VERSION [--json]        lineage: decision → inference → model → rollout → training run → data
  audit    verify [--json]                                   integrity: cloud = union of the edges, no gaps, artifacts, schemas (exit 1 on violation)
  audit    export --since T --until T [--out FILE]           the events of a window and their lineage, as one JSON bundle
  train    [--since T] [--until T] [--force] [--epochs N] [--no-wait] [--json]   a training run in the cloud, with live progress
  rollout  VERSION [--strategy canary|all] [--edges ID,..] [--canaries N] [--min-inferences N] [--observe S] [--max-error-ratio X] [--stage-timeout S] [--no-wait] [--json]   put a published model on the edges, canary first
  rollout  rollback [ROLLOUT] [--reason TEXT] | show ROLLOUT | list   roll back by hand (edges return to their previous model); inspect rollouts
  status   [--json] [--window S] [--limit N] [--as-of T]   the fleet at a glance: model registry, edges' models, training runs, nodes' utilisation, tasks' T_delay
  task     submit KIND [--cpu N] [--memory MB] [--priority 0-9] [--deadline T] [--edge ID] [--from-seq N] [--to-seq N] [--bytes N] [--payload JSON] [--wait]   a task for the scheduler
  task     show ID [--json]                                  a task's events: placement with every node's score, attempts, outcome
  worker   [--name N] [--kinds K,..] [--module FILE] [--cpus N] [--memory MB]   a cloud worker: registers, heartbeats, runs assigned tasks
  bench                                                     run the benchmarks, write BENCHMARKS.md

Times (T): ISO 8601, epoch milliseconds, or a duration ago (90s, 15m, 2h).
State lives in --dir (default .tide, or $TIDE_DIR). Logs on stderr: JSON lines (pretty on a terminal); level by --log-level L (or --log-level=L) or TIDE_LOG_LEVEL, default info (demo: warn).`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  up: upCommand,
  demo: demoCommand,
  edge: edgeCommand,
  cloud: cloudCommand,
  streams: streamsCommand,
  publish: publishCommand,
  device: deviceCommand,
  certs: certsCommand,
  simulate: simulateCommand,
  replay: replayCommand,
  audit: auditCommand,
  project: projectCommand,
  bench: benchCommand,
  train: trainCommand,
  status: statusCommand,
  rollout: rolloutCommand,
  task: taskCommand,
  worker: workerCommand,
};

/** Exit codes: 0 ok, 1 failure, 2 usage. */
function exitCodeOf(error: unknown): number {
  return error instanceof TideError && error.code === ErrorCode.Usage ? 2 : 1;
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/**
 * `--log-level L` or `--log-level=L`, anywhere on the command line (the last
 * one wins): the level, and the arguments without it for the command; or why
 * it is refused.
 */
function takeLogLevel(argv: readonly string[]): { argv: string[]; level: string | undefined } | { error: string } {
  const rest: string[] = [];
  let level: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== "--log-level" && !arg.startsWith("--log-level=")) {
      rest.push(arg);
      continue;
    }
    const value = arg === "--log-level" ? argv[++i] : arg.slice("--log-level=".length);
    if (value === undefined || !(LOG_LEVELS as readonly string[]).includes(value)) {
      return { error: `--log-level must be one of ${LOG_LEVELS.join(", ")}; got ${value === undefined ? "nothing" : `'${value}'`}` };
    }
    level = value;
  }
  return { argv: rest, level };
}

/** Run the CLI; errors become one message on stderr and an exit code, here and nowhere else. */
export async function main(argv: string[]): Promise<number> {
  const taken = takeLogLevel(argv);
  if ("error" in taken) {
    process.stderr.write(`tide: ${taken.error}\n`);
    return 2;
  }
  const fromEnv = process.env.TIDE_LOG_LEVEL;
  if (!taken.level && fromEnv !== undefined && !(LOG_LEVELS as readonly string[]).includes(fromEnv)) {
    process.stderr.write(`tide: TIDE_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}; got '${fromEnv}'\n`);
    return 2;
  }
  // Every command's logger reads it (createLogger), the flag winning over the environment.
  if (taken.level) process.env.TIDE_LOG_LEVEL = taken.level;
  argv = taken.argv;
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP + "\n");
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`tide: unknown command '${name}'\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    const prefix = error instanceof TideError ? "" : "unexpected error: ";
    process.stderr.write(`tide ${name}: ${prefix}${errorMessage(error)}\n`);
    if (!(error instanceof TideError) && process.env.TIDE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
    return exitCodeOf(error);
  }
}
