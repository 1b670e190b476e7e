import { startSimulator, type Simulator } from "../../../edge-runtime/simulator/runner.ts";
import { formatStats } from "../../../edge-runtime/simulator/stats.ts";
import { UsageError } from "../../errors.ts";
import { EdgeId } from "../../ids.ts";
import { createLogger } from "../../log.ts";
import { connectAsGateway } from "../../devices/index.ts";
import { readTopology } from "../../topology/index.ts";
import { DIR_OPTION, dirOf, int, num, parse, time } from "../args.ts";

const USAGE =
  "tide simulate --edge ID [--devices N] [--rate HZ] [--seed S] [--count N] [--duration S] [--faulty N] [--anomaly-rate P] [--start T] [--speed X] [--dir D]";

const OPTIONS = {
  ...DIR_OPTION,
  edge: { type: "string" },
  devices: { type: "string" },
  rate: { type: "string" },
  seed: { type: "string" },
  count: { type: "string" },
  duration: { type: "string" },
  faulty: { type: "string" },
  "anomaly-rate": { type: "string" },
  start: { type: "string" },
  speed: { type: "string" },
} as const;

function between(value: string | undefined, name: string, min: number, max: number, { exclusiveMin = false } = {}): number | undefined {
  const n = num(value, name);
  if (n !== undefined && (n < min || n > max || (exclusiveMin && n === min))) {
    throw new UsageError(`--${name} must be ${exclusiveMin ? "above" : "at least"} ${min} and at most ${max}, got ${value}`);
  }
  return n;
}

/** The simulator's flags, checked: every bad value is a UsageError naming its flag. */
export function parseSimulateArgs(argv: string[]) {
  const { values } = parse(argv, OPTIONS, USAGE);
  if (values.edge === undefined) throw new UsageError(`--edge is required\nusage: ${USAGE}`);
  if (!EdgeId.safeParse(values.edge).success) throw new UsageError(`--edge '${values.edge}' is not a valid edge id`);
  const devices = int(values.devices, "devices", { min: 1, max: 10_000 }) ?? 3;
  const duration = between(values.duration, "duration", 0, 31_536_000, { exclusiveMin: true });
  const start = time(values.start, "start");
  return {
    dir: dirOf(values.dir),
    edge: values.edge,
    devices,
    faulty: int(values.faulty, "faulty", { min: 0, max: devices }),
    rate: between(values.rate, "rate", 0, 10_000, { exclusiveMin: true }) ?? 1,
    seed: int(values.seed, "seed", { min: 0, max: 0xffff_ffff }),
    count: int(values.count, "count", { min: 1 }),
    durationMs: duration === undefined ? undefined : duration * 1000,
    anomalyRate: between(values["anomaly-rate"], "anomaly-rate", 0, 1),
    startMs: start?.getTime(),
    speed: between(values.speed, "speed", 0, 10_000_000, { exclusiveMin: true }),
  };
}

/** Run simulated devices against an edge's ingest until --count, --duration or Ctrl-C; print what happened. */
export async function simulateCommand(argv: string[]): Promise<number> {
  const { dir, edge, ...options } = parseSimulateArgs(argv);
  const topology = readTopology(dir);
  // The edge's device gateway: device rights for this edge's devices, nothing else.
  const nc = await connectAsGateway(topology, edge, { name: `tide-simulator-${edge}` });
  const logger = createLogger({ level: process.env.TIDE_LOG_LEVEL ?? "warn" });
  const out = (line: string) => process.stdout.write(line + "\n");
  let simulator: Simulator | undefined;
  let progress: NodeJS.Timeout | undefined;
  const stop = () => void simulator?.stop();
  try {
    simulator = await startSimulator({ nc, edge, logger, ...options });
    const { config } = simulator;
    const devices = simulator.devices();
    const faulty = devices.filter((d) => d.faulty).map((d) => d.device);
    const until = [options.count && `${options.count} readings each`, options.durationMs && `${options.durationMs / 1000} s`].filter(Boolean).join(" or ");
    out(
      `simulating ${devices.length} device(s) on edge ${edge} (${devices[0]?.device}..${devices.at(-1)?.device}; faulty: ${faulty.join(", ") || "none"}) ` +
        `at ${config.rate} Hz, ${Number((simulator.stepMs / 1000).toPrecision(4))} s simulated per reading, ${until ? `until ${until}` : "until Ctrl-C"}`,
    );
    out(`reproduce with: --seed ${config.seed} --start ${new Date(config.startMs).toISOString()}`);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (process.stderr.isTTY) {
      const running = simulator;
      progress = setInterval(() => process.stderr.write(`\r\x1b[Ktick ${running.stats().ticks}: ${formatStats(running.stats())}`), 500);
    }
    const stats = await simulator.done;
    if (progress) process.stderr.write("\r\x1b[K");
    out(formatStats(stats));
    if (stats.stored === 0 && stats.failed > 0) process.stderr.write(`no reading was stored: is the ingest of edge ${edge} running (tide up)?\n`);
    return stats.failed > 0 ? 1 : 0;
  } finally {
    if (progress) clearInterval(progress);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await nc.close();
  }
}
