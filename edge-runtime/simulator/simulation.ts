import { z } from "zod";
import { ValidationError } from "../../src/errors.ts";
import { formatIssues } from "../../src/events/index.ts";
import { DeviceId } from "../../src/ids.ts";
import { createSimulatedDevice, type DeviceSnapshot, type DeviceStep, type SimulatedDevice } from "./device.ts";
import { DEFAULT_FAULT_RATES } from "./faults.ts";

const probability = () => z.number().min(0).max(1);

const FaultRatesSchema = z
  .object({ stuck: probability(), spike: probability(), dropout: probability(), badPayload: probability() })
  .refine((r) => r.stuck + r.spike + r.dropout + r.badPayload <= 1, "fault rates must add up to at most 1");

/** What a simulation is, apart from where it sends: everything the generated sequence depends on. */
export const SimulationConfig = z
  .object({
    /** Number of devices, named `<prefix>-1` .. `<prefix>-N`. */
    devices: z.number().int().min(1).max(10_000).default(3),
    /** How many of them (the last ones) have faulty sensors; default 1 when there are 2 or more devices. */
    faulty: z.number().int().min(0).optional(),
    /** Readings per second per device (wall clock). */
    rate: z.number().positive().max(10_000).default(1),
    /** Simulated time per wall-clock time: 60 = one simulated minute per second. */
    speed: z.number().positive().max(10_000_000).default(1),
    /** Seed of every random stream. */
    seed: z.number().int().min(0).max(0xffff_ffff),
    /** Simulated time of the first reading (epoch ms). */
    startMs: z.number().int().nonnegative(),
    /** Probability, per reading and device, that an anomaly starts. */
    anomalyRate: probability().default(0.001),
    /** Per-reading fault onset probabilities of a faulty device. */
    faultRates: FaultRatesSchema.default(DEFAULT_FAULT_RATES),
    devicePrefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "device prefix: 1-32 of A-Z, a-z, 0-9, '_' and '-'").default("sim"),
  })
  .refine((c) => c.faulty === undefined || c.faulty <= c.devices, { message: "faulty devices cannot outnumber devices", path: ["faulty"] })
  .transform((c) => ({ ...c, faulty: c.faulty ?? (c.devices >= 2 ? 1 : 0) }));

export type SimulationConfigInput = z.input<typeof SimulationConfig>;
export type SimulationConfig = z.output<typeof SimulationConfig>;

/** Parse a simulation's options once, failing with every issue. */
export function parseSimulationConfig(input: SimulationConfigInput): Readonly<SimulationConfig> {
  const parsed = SimulationConfig.safeParse(input);
  if (!parsed.success) throw new ValidationError(`invalid simulation options: ${formatIssues(parsed.error).join("; ")}`, formatIssues(parsed.error));
  return Object.freeze(parsed.data);
}

/** Device ids of a simulation, and which are faulty (the last `faulty` ones). */
export function planDevices(config: Pick<SimulationConfig, "devices" | "faulty" | "devicePrefix">): { device: string; faulty: boolean }[] {
  return Array.from({ length: config.devices }, (_, i) => {
    const device = `${config.devicePrefix}-${i + 1}`;
    DeviceId.parse(device);
    return { device, faulty: i >= config.devices - config.faulty };
  });
}

/** Simulated milliseconds between two readings of a device. */
export const stepMsOf = (config: Pick<SimulationConfig, "rate" | "speed">): number => (1000 / config.rate) * config.speed;

/**
 * The pure part of a simulation: its devices, ticked together. Two simulations
 * with the same config produce the same steps, which is how a test (or an
 * audit) recomputes what a run sent.
 */
export function createSimulation(input: SimulationConfigInput) {
  const config = parseSimulationConfig(input);
  const stepMs = stepMsOf(config);
  const devices: SimulatedDevice[] = planDevices(config).map(({ device, faulty }) =>
    createSimulatedDevice({
      seed: config.seed,
      device,
      startMs: config.startMs,
      stepMs,
      anomalyRate: config.anomalyRate,
      ...(faulty ? { faults: config.faultRates } : {}),
    }),
  );
  const byId = new Map(devices.map((d) => [d.id, d]));
  return {
    config,
    stepMs,
    devices,
    device: (id: string): SimulatedDevice | undefined => byId.get(id),
    /** One step of every device, in device order. */
    tick: (): DeviceStep[] => devices.map((d) => d.next()),
  };
}
export type Simulation = ReturnType<typeof createSimulation>;

/** Per device, the commands it applied and the seq each acted from (`Simulator.devices()` gives them). */
export type CommandLog = ReadonlyMap<string, readonly DeviceSnapshot["commands"][number][]>;

/**
 * Recompute exactly what a run generated in its first `ticks` ticks: the same
 * config, with each device's commands applied where they acted. Seed plus
 * command log is the whole input of a run.
 */
export function replaySimulation(input: SimulationConfigInput, ticks: number, commands: CommandLog = new Map()): DeviceStep[] {
  const simulation = createSimulation(input);
  const steps: DeviceStep[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    for (const device of simulation.devices) {
      for (const { action, atSeq } of commands.get(device.id) ?? []) if (atSeq === tick) device.command(action);
    }
    for (const step of simulation.tick()) steps.push(step);
  }
  return steps;
}
