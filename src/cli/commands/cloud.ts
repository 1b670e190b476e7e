import { createLogger } from "../../log.ts";
import { untilSignal } from "../../stop-request.ts";
import { readTopology } from "../../topology/index.ts";
import { startCloudServices } from "../../cloud/cloud-services.ts";
import { DIR_OPTION, dirOf, parse } from "../args.ts";

const USAGE = "tide cloud [--dir D]";

/** The cloud services as a process of their own, against the running hub (from topology.json). */
export async function cloudCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...DIR_OPTION }, USAGE);
  const logger = createLogger();
  const services = await startCloudServices({ topology: readTopology(dirOf(values.dir)), logger });
  process.stdout.write("cloud services up. Ctrl-C to stop.\n");
  await untilSignal();
  await services.stop();
  return 0;
}
