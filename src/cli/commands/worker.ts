import { hostname } from "node:os";
import { UsageError, ValidationError } from "../../errors.ts";
import { untilSignal } from "../../stop-request.ts";
import { createLogger } from "../../log.ts";
import { startCloudWorker } from "../../tasks/worker/cloud-worker.ts";
import { readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, num, parse } from "../args.ts";

const USAGE = "tide worker [--name N] [--kinds K1,K2] [--module FILE]... [--cpus N] [--memory MB] [--heartbeat-ms MS] [--dir D]";

/** `tide worker`: a cloud worker process: registers, heartbeats, and runs the tasks assigned to it. */
export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...DIR_OPTION,
      name: { type: "string" },
      kinds: { type: "string" },
      module: { type: "string", multiple: true },
      cpus: { type: "string" },
      memory: { type: "string" },
      "heartbeat-ms": { type: "string" },
    },
    USAGE,
  );
  const name = values.name ?? hostname().toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(0, 64);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new UsageError(`--name must be 1-64 of A-Z, a-z, 0-9, '_' and '-', got '${name}'`);
  const kinds = values.kinds?.split(",").map((k) => k.trim()).filter(Boolean);
  if (kinds && kinds.length === 0) throw new UsageError("--kinds needs at least one kind");
  const cpus = num(values.cpus, "cpus");
  if (cpus !== undefined && cpus <= 0) throw new UsageError(`--cpus must be positive, got ${cpus}`);
  const memoryMb = int(values.memory, "memory", { min: 1 });
  const heartbeatMs = int(values["heartbeat-ms"], "heartbeat-ms", { min: 50, max: 600_000 });
  const logger = createLogger();
  const topology = readTopology(dirOf(values.dir));
  const worker = await startCloudWorker({
    topology,
    name,
    logger,
    ...(kinds ? { kinds } : {}),
    ...(values.module ? { modules: values.module } : {}),
    ...(cpus === undefined ? {} : { cpus }),
    ...(memoryMb === undefined ? {} : { memoryMb }),
    ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
  }).catch((error: unknown) => {
    // An unknown kind or a module that does not load is bad input: exit 2.
    throw error instanceof ValidationError ? new UsageError(`${error.message}\nusage: ${USAGE}`) : error;
  });
  process.stdout.write(`worker ${worker.node} up: ${worker.resources.cpus} CPU, ${worker.resources.memoryMb} MB, kinds ${worker.kinds.join(", ")}. Ctrl-C to stop.\n`);
  await untilSignal();
  await worker.stop();
  return 0;
}
