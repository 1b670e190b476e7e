import { UsageError, TideError, ErrorCode } from "../../errors.ts";
import { subjects } from "../../events/subjects.ts";
import { DeviceId, EdgeId } from "../../ids.ts";
import { connectAsDevice, connectAsGateway } from "../../devices/index.ts";
import { readCredentials, readTopology } from "../../topology/index.ts";
import type { IngestReply } from "../../../edge-runtime/ingest/ingest.ts";
import { DIR_OPTION, dirOf, num, parse } from "../args.ts";

const USAGE = "tide publish --edge ID --device ID --temperature X --humidity Y [--dir D]";

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new UsageError(`--${name} is required\nusage: ${USAGE}`);
  return value;
}

/** Publish one reading as a device would, through the edge's ingest, and print where it was stored. */
export async function publishCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { ...DIR_OPTION, edge: { type: "string" }, device: { type: "string" }, temperature: { type: "string" }, humidity: { type: "string" } },
    USAGE,
  );
  const edge = required(values.edge, "edge");
  const device = required(values.device, "device");
  if (!EdgeId.safeParse(edge).success) throw new UsageError(`--edge '${edge}' is not a valid edge id`);
  if (!DeviceId.safeParse(device).success) throw new UsageError(`--device '${device}' is not a valid device id`);
  const temperature = required(num(values.temperature, "temperature"), "temperature");
  const humidity = required(num(values.humidity, "humidity"), "humidity");
  const topology = readTopology(dirOf(values.dir));
  // As the device itself when it was added (tide device add), else as the edge's device gateway: device rights either way.
  const registered = readCredentials(topology.credentialsPath).devices[edge]?.[device] !== undefined;
  const nc = registered ? await connectAsDevice(topology, edge, device) : await connectAsGateway(topology, edge, { maxReconnectAttempts: 0 });
  try {
    const body = JSON.stringify({ ts: new Date().toISOString(), temperature, humidity });
    let reply: IngestReply;
    try {
      const msg = await nc.request(subjects.ingest(edge, device), body, { timeout: 5000 });
      reply = msg.json<IngestReply>();
    } catch (error) {
      throw new TideError(ErrorCode.Topology, `no answer from the ingest of edge ${edge} (is \`tide up\` running?): ${(error as Error).message}`);
    }
    if (!reply.ok) {
      process.stderr.write(`rejected (${reply.reason}): ${reply.message}${reply.issues.length ? `\n  ${reply.issues.join("\n  ")}` : ""}\n`);
      return 1;
    }
    process.stdout.write(`stored on edge ${edge} READINGS seq ${reply.seq} (event ${reply.id}${reply.duplicate ? ", duplicate" : ""})\n`);
    return 0;
  } finally {
    await nc.close();
  }
}
