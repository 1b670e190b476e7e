import { createLogger } from "../../log.ts";
import { startFleet } from "../../fleet.ts";
import { untilSignal } from "../../stop-request.ts";
import { startTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, parse } from "../args.ts";
import { UsageError } from "../../errors.ts";

const USAGE = "tide up [--edges N] [--cluster N] [--dir D] [--ports standard|free] [--servers-only]";

export function portsOf(value: string | undefined): "standard" | "free" {
  if (value === undefined || value === "standard" || value === "free") return value ?? "standard";
  throw new UsageError(`--ports must be 'standard' or 'free', got '${value}'`);
}

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION, edges: { type: "string" }, cluster: { type: "string" }, ports: { type: "string" }, "servers-only": { type: "boolean" } }, USAGE);
  const logger = createLogger();
  // --cluster N: the hub is a JetStream cluster of N servers and the cloud streams are replicated (R3).
  const cluster = int(values.cluster, "cluster", { min: 1, max: 7 }) ?? 1;
  const options = { dir: dirOf(values.dir), edges: int(values.edges, "edges", { min: 1, max: 64 }) ?? 2, cluster, ports: portsOf(values.ports), logger };
  // --servers-only: just the NATS servers; run `tide edge --id ID` and `tide cloud` as processes of their own.
  const fleet = values["servers-only"] ? { topology: await startTopology(options), stop: async () => undefined } : await startFleet(options);
  const { file } = fleet.topology;
  process.stdout.write(
    [
      `Tide is up (state in ${file.dir}, topology in ${file.dir}/topology.json)`,
      ...(file.hubCluster ?? [file.hub]).map((s) => `  ${s.name.padEnd(7)} ${s.clientUrl}  domain cloud  monitor ${s.monitorUrl}`),
      ...(file.hubCluster ? [`  (a ${file.hubCluster.length}-server JetStream cluster; cloud streams R${Math.min(3, file.hubCluster.length)})`] : []),
      ...file.edges.map((e) => `  edge ${e.id.padEnd(3)} ${e.clientUrl}  domain ${e.domain}  monitor ${e.monitorUrl}`),
      values["servers-only"] ? "Servers only: start `tide edge --id ID` and `tide cloud` against them. Ctrl-C to stop." : "Edge runtimes and cloud services running. Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  const why = await untilSignal();
  logger.info({ why }, "stopping");
  await fleet.stop();
  await fleet.topology.stop();
  return 0;
}
