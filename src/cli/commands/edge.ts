import { createLogger } from "../../log.ts";
import { untilSignal } from "../../stop-request.ts";
import { UsageError } from "../../errors.ts";
import { EdgeId } from "../../ids.ts";
import { readTopology } from "../../topology/index.ts";
import { ensureEdgePolicy, startEdgeRuntime } from "../../../edge-runtime/runtime.ts";
import { DIR_OPTION, dirOf, int, num, parse } from "../args.ts";

const USAGE = "tide edge --id ID [--dir D] [--http-port P] [--model FILE] [--offload-score S] [--policy FILE]";

/** One edge runtime as a process of its own, against its running leaf node (from topology.json). */
export async function edgeCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...DIR_OPTION, id: { type: "string" }, "http-port": { type: "string" }, model: { type: "string" }, "offload-score": { type: "string" }, policy: { type: "string" } },
    USAGE,
  );
  if (!values.id) throw new UsageError(`--id is required\nusage: ${USAGE}`);
  if (!EdgeId.safeParse(values.id).success) throw new UsageError(`--id '${values.id}' is not a valid edge id`);
  const httpPort = int(values["http-port"], "http-port", { min: 0, max: 65535 });
  const offloadAboveScore = num(values["offload-score"], "offload-score");
  const logger = createLogger();
  const topology = readTopology(dirOf(values.dir));
  const runtime = await startEdgeRuntime({
    topology,
    policyPath: values.policy ?? ensureEdgePolicy(topology, values.id),
    edge: values.id,
    logger,
    ...(httpPort === undefined ? {} : { httpPort }),
    ...(offloadAboveScore === undefined ? {} : { offloadAboveScore }),
  });
  if (values.model) {
    const { version } = await runtime.activateModel({ file: values.model });
    logger.info({ version }, "model activated");
  }
  process.stdout.write(`edge ${values.id} runtime up: backend ${runtime.backend}, POST ${runtime.httpUrl}/predict. Ctrl-C to stop.\n`);
  await untilSignal();
  await runtime.stop();
  return 0;
}
