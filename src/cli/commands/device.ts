import { addDevice } from "../../devices/index.ts";
import { UsageError } from "../../errors.ts";
import { DIR_OPTION, dirOf, parse } from "../args.ts";

const USAGE = "tide device add --edge ID DEVICE [--json] [--dir D]";

/**
 * `tide device add --edge ID DEVICE`: issue the device's credentials (NATS and
 * MQTT), let the running edge server know them, and print them with the
 * subjects the device may use.
 */
export async function deviceCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== "add") throw new UsageError(`${action === undefined ? "missing action" : `unknown action '${action}'`}\nusage: ${USAGE}`);
  const { values, positionals } = parse(rest, { ...DIR_OPTION, edge: { type: "string" }, json: { type: "boolean" } }, USAGE, 1);
  if (values.edge === undefined) throw new UsageError(`--edge is required\nusage: ${USAGE}`);
  const device = positionals[0];
  if (device === undefined) throw new UsageError(`DEVICE is required\nusage: ${USAGE}`);
  const { credentials, path, created, reloaded } = await addDevice(dirOf(values.dir), values.edge, device);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...credentials, path, created, reloaded }, null, 2) + "\n");
    return 0;
  }
  const out = (line: string) => process.stdout.write(line + "\n");
  out(`${created ? "added" : "already added"}: device ${device} on edge ${values.edge}; credentials in ${path} (mode 0600)`);
  out(`  NATS  ${credentials.natsUrl ?? "(edge not running)"}  user ${credentials.user}  inbox prefix ${credentials.inboxPrefix}`);
  out(`  MQTT  ${credentials.mqttUrl ?? "(edge not running)"}  user ${credentials.mqttUser}`);
  out(`  may publish ${credentials.ingestSubject}; may receive ${credentials.commandSubject} and ${credentials.ackSubject} (MQTT: the same with '/')`);
  if (!reloaded) out(`  the edge server was not running: it picks the device up when it starts`);
  return 0;
}
