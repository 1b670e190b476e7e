import type { Action } from "../../src/events/inference.ts";
import { createClimate, drawClimateProfile, type ClimateProfile, type Measurement } from "./climate.ts";
import { createFaultInjector, type FaultKind, type FaultRates } from "./faults.ts";
import { renderBadPayload, renderReading, type BadPayloadVariant, type ReadingPayload } from "./payload.ts";
import { createRandom } from "./prng.ts";

export interface SimulatedDeviceOptions {
  /** The simulation's seed; the device's streams are derived from it and its id. */
  seed: number;
  device: string;
  /** Simulated time of reading 0 (epoch ms). */
  startMs: number;
  /** Simulated time between two readings (ms). */
  stepMs: number;
  /** Probability, per reading, that an anomaly starts. */
  anomalyRate: number;
  /** Fault rates of a faulty sensor; none = a healthy sensor. */
  faults?: FaultRates;
}

interface StepBase {
  device: string;
  seq: number;
  ts: string;
  /** Inside an injected anomaly (ground truth for detectors). */
  anomaly: boolean;
  /** What a healthy sensor would have reported. */
  truth: Measurement;
  fault: FaultKind | undefined;
  /** First reading of the fault. */
  onset: boolean;
}

/** One tick of a device: a reading to send (maybe stuck or spiked), garbled bytes to send, or nothing (dropout). */
export type DeviceStep =
  | (StepBase & { kind: "reading"; payload: ReadingPayload; body: string })
  | (StepBase & { kind: "bad_payload"; variant: BadPayloadVariant; body: string })
  | (StepBase & { kind: "dropout" });

/** A device as it stands: where its counter is, its actuator, and the commands it applied (at which seq). */
export interface DeviceSnapshot {
  device: string;
  faulty: boolean;
  /** Seq of the next reading. */
  seq: number;
  cooling: boolean;
  /** How far cooling currently pulls the temperature down (°C, <= 0). */
  coolingOffset: number;
  commands: { action: Action; atSeq: number }[];
  profile: ClimateProfile;
}

/**
 * A simulated temperature/humidity device: pure apart from its own state, so
 * the same seed, id and options give the same steps, faults included.
 */
export function createSimulatedDevice(options: SimulatedDeviceOptions) {
  const { seed, device, startMs, stepMs, anomalyRate, faults } = options;
  const profile = drawClimateProfile(createRandom(seed, device, "profile"));
  const climate = createClimate({ profile, random: createRandom(seed, device, "climate"), startMs, anomalyRate });
  const injector = faults ? createFaultInjector({ random: createRandom(seed, device, "faults"), rates: faults }) : undefined;
  const commands: DeviceSnapshot["commands"] = [];
  let seq = 0;

  // Built without object spreads: this runs once per reading, and spreads are slow in V8.
  function next(): DeviceStep {
    const atMs = Math.round(startMs + seq * stepMs);
    const ts = new Date(atMs).toISOString();
    const sample = climate.sample(atMs);
    const truth: Measurement = { temperature: sample.temperature, humidity: sample.humidity };
    const anomaly = sample.anomaly;
    const outcome = injector ? injector.apply(truth) : undefined;
    const at = seq++;
    if (outcome === undefined || outcome.kind === "none") {
      const payload: ReadingPayload = { ts, seq: at, temperature: truth.temperature, humidity: truth.humidity };
      return { kind: "reading", device, seq: at, ts, anomaly, truth, fault: undefined, onset: false, payload, body: renderReading(payload) };
    }
    switch (outcome.kind) {
      case "dropout":
        return { kind: "dropout", device, seq: at, ts, anomaly, truth, fault: "dropout", onset: outcome.onset };
      case "bad_payload": {
        const body = renderBadPayload(outcome.variant, { ts, seq: at, temperature: truth.temperature, humidity: truth.humidity });
        return { kind: "bad_payload", device, seq: at, ts, anomaly, truth, fault: "bad_payload", onset: true, variant: outcome.variant, body };
      }
      case "stuck":
      case "spike": {
        const payload: ReadingPayload = { ts, seq: at, temperature: outcome.value.temperature, humidity: outcome.value.humidity };
        return { kind: "reading", device, seq: at, ts, anomaly, truth, fault: outcome.kind, onset: outcome.onset, payload, body: renderReading(payload) };
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown fault outcome ${JSON.stringify(never)}`);
      }
    }
  }

  return {
    id: device,
    next,
    /** Apply an actuator command from the edge; it acts from the next reading on. */
    command(action: Action): void {
      commands.push({ action, atSeq: seq });
      if (action === "cooling_on") climate.setCooling(true);
      else if (action === "cooling_off") climate.setCooling(false);
      // `hold`: keep the actuator as it is.
    },
    snapshot(): DeviceSnapshot {
      const { cooling, coolingOffset } = climate.state();
      return { device, faulty: injector !== undefined, seq, cooling, coolingOffset, commands: [...commands], profile };
    },
  };
}
export type SimulatedDevice = ReturnType<typeof createSimulatedDevice>;
