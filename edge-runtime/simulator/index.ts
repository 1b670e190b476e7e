/**
 * The device simulator: temperature/humidity devices with a daily cycle, noise,
 * drift, injected anomalies and faulty sensors, deterministic for a seed
 * (`createSimulation`), and a runner that sends them to an edge's ingest and
 * applies the commands they receive (`startSimulator`).
 */
export { startSimulator, type Simulator, type SimulatorOptions } from "./runner.ts";
export {
  createSimulation,
  parseSimulationConfig,
  planDevices,
  replaySimulation,
  stepMsOf,
  SimulationConfig,
  type CommandLog,
  type Simulation,
  type SimulationConfigInput,
} from "./simulation.ts";
export { createSimulatedDevice, type DeviceSnapshot, type DeviceStep, type SimulatedDevice, type SimulatedDeviceOptions } from "./device.ts";
export { ANOMALY, COOLING, createClimate, drawClimateProfile, type ClimateProfile, type ClimateSample, type Measurement } from "./climate.ts";
export { DEFAULT_FAULT_RATES, FAULT_EPISODE, FaultKind, SPIKE, createFaultInjector, type FaultOutcome, type FaultRates } from "./faults.ts";
export { BAD_PAYLOAD_REASON, BAD_PAYLOAD_VARIANTS, renderBadPayload, renderReading, type BadPayloadVariant, type ReadingPayload } from "./payload.ts";
export { parseCommand, type ParsedCommand } from "./commands.ts";
export { createRandom, type Random } from "./prng.ts";
export { formatStats, type SimulatorStats } from "./stats.ts";
