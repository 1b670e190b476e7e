import { asSensorValue, type Measurement } from "./climate.ts";
import { BAD_PAYLOAD_VARIANTS, type BadPayloadVariant } from "./payload.ts";
import type { Random } from "./prng.ts";

/** The faults a sensor can have. */
export const FaultKind = { Stuck: "stuck", Spike: "spike", Dropout: "dropout", BadPayload: "bad_payload" } as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/**
 * Per reading, the probability that a fault of each kind starts (when the sensor
 * is not already in a stuck or dropout episode). Their sum is at most 1.
 */
export interface FaultRates {
  stuck: number;
  spike: number;
  dropout: number;
  badPayload: number;
}

export const DEFAULT_FAULT_RATES: FaultRates = Object.freeze({ stuck: 0.01, spike: 0.01, dropout: 0.01, badPayload: 0.02 });

/** Episode lengths, in readings: a stuck sensor repeats one value, a dropout sends nothing. */
export const FAULT_EPISODE = { stuck: { min: 5, max: 30 }, dropout: { min: 1, max: 10 } } as const;

/** A spike jumps this far from the true value (°C; humidity moves 1.5 times as far, in %), then is gone. */
export const SPIKE = { minDelta: 15, maxDelta: 40 } as const;

/**
 * What the sensor does with one true measurement. `onset` is true on the first
 * reading of a fault (a spike or bad payload is a one-reading fault).
 */
export type FaultOutcome =
  | { kind: "none"; value: Measurement }
  | { kind: "stuck"; onset: boolean; value: Measurement }
  | { kind: "spike"; onset: true; value: Measurement }
  | { kind: "dropout"; onset: boolean }
  | { kind: "bad_payload"; onset: true; variant: BadPayloadVariant };

type Episode = { kind: "stuck"; left: number; value: Measurement } | { kind: "dropout"; left: number };

function spike(random: Random, clean: Measurement): Measurement {
  const channel = random.next();
  const temperatureDelta = channel < 0.8 ? random.sign() * random.between(SPIKE.minDelta, SPIKE.maxDelta) : 0;
  // Humidity spikes towards the far end of its range, so clamping never hides them.
  const humidityDelta = channel >= 0.6 ? (clean.humidity > 50 ? -1 : 1) * 1.5 * random.between(SPIKE.minDelta, SPIKE.maxDelta) : 0;
  return asSensorValue({ temperature: clean.temperature + temperatureDelta, humidity: clean.humidity + humidityDelta });
}

/**
 * A faulty sensor: turns true measurements into what it reports. Draws from its
 * own random stream, so the device's climate is the same with or without faults.
 */
export function createFaultInjector(options: { random: Random; rates: FaultRates }) {
  const { random, rates } = options;
  let episode: Episode | undefined;

  function apply(clean: Measurement): FaultOutcome {
    if (episode) {
      episode.left--;
      const current = episode;
      if (current.left <= 0) episode = undefined;
      return current.kind === "stuck" ? { kind: "stuck", onset: false, value: current.value } : { kind: "dropout", onset: false };
    }
    let u = random.next();
    if ((u -= rates.stuck) < 0) {
      const length = random.int(FAULT_EPISODE.stuck.min, FAULT_EPISODE.stuck.max);
      if (length > 1) episode = { kind: "stuck", left: length - 1, value: clean };
      return { kind: "stuck", onset: true, value: clean };
    }
    if ((u -= rates.spike) < 0) return { kind: "spike", onset: true, value: spike(random, clean) };
    if ((u -= rates.dropout) < 0) {
      const length = random.int(FAULT_EPISODE.dropout.min, FAULT_EPISODE.dropout.max);
      if (length > 1) episode = { kind: "dropout", left: length - 1 };
      return { kind: "dropout", onset: true };
    }
    if ((u -= rates.badPayload) < 0) {
      return { kind: "bad_payload", onset: true, variant: BAD_PAYLOAD_VARIANTS[random.int(0, BAD_PAYLOAD_VARIANTS.length - 1)]! };
    }
    return { kind: "none", value: clean };
  }

  return { apply };
}
export type FaultInjector = ReturnType<typeof createFaultInjector>;
