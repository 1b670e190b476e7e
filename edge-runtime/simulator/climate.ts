import { READING_LIMITS } from "../../src/events/reading.ts";
import type { Random } from "./prng.ts";

/** What one device's surroundings are like: drawn once per device from its seed. */
export interface ClimateProfile {
  /** Daily mean temperature, °C. */
  baseTemperature: number;
  /** Half the daily swing, °C. */
  temperatureAmplitude: number;
  /** Hour of the day (UTC) of the warmest moment; humidity is lowest then. */
  peakHour: number;
  /** Daily mean relative humidity, %. */
  baseHumidity: number;
  /** Half the daily humidity swing, %. */
  humidityAmplitude: number;
  /** Slow sensor drift, per simulated day. */
  temperatureDriftPerDay: number;
  humidityDriftPerDay: number;
  /** Standard deviation of the measurement noise. */
  temperatureNoise: number;
  humidityNoise: number;
}

/** How a cooling actuator acts: it pulls the temperature down by `depth` °C, approached exponentially. */
export const COOLING = { depth: 6, timeConstantMs: 5 * 60_000 } as const;

/** Injected anomalies: a hump of `minDelta`..`maxDelta` °C lasting `minSteps`..`maxSteps` readings. */
export const ANOMALY = { minSteps: 10, maxSteps: 60, minDelta: 4, maxDelta: 12, warmShare: 0.75 } as const;

export interface Measurement {
  temperature: number;
  humidity: number;
}

/** One true measurement: what a healthy sensor reports. `anomaly` marks an injected anomaly (ground truth). */
export interface ClimateSample extends Measurement {
  anomaly: boolean;
}

export interface ClimateOptions {
  profile: ClimateProfile;
  random: Random;
  /** Simulation start (epoch ms): drift counts from here. */
  startMs: number;
  /** Probability, per reading, that an anomaly starts. */
  anomalyRate: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export function drawClimateProfile(random: Random): ClimateProfile {
  return {
    baseTemperature: random.between(18, 26),
    temperatureAmplitude: random.between(2, 5),
    peakHour: random.between(13, 17),
    baseHumidity: random.between(35, 60),
    humidityAmplitude: random.between(5, 12),
    temperatureDriftPerDay: random.between(-0.5, 0.5),
    humidityDriftPerDay: random.between(-1, 1),
    temperatureNoise: random.between(0.05, 0.2),
    humidityNoise: random.between(0.3, 1),
  };
}

const { temperature: T_LIMITS, humidity: H_LIMITS } = READING_LIMITS;
// Resolution 0.01 °C and 0.1 %. `+ 0` turns -0 into 0: JSON has no -0, so a payload would not round-trip.
const sensorTemperature = (t: number) => Math.round(Math.min(T_LIMITS.max, Math.max(T_LIMITS.min, t)) * 100) / 100 + 0;
const sensorHumidity = (h: number) => Math.round(Math.min(H_LIMITS.max, Math.max(H_LIMITS.min, h)) * 10) / 10 + 0;

/** A measured value as a sensor reports it: within its physical range, to its resolution. */
export function asSensorValue(m: Measurement): Measurement {
  return { temperature: sensorTemperature(m.temperature), humidity: sensorHumidity(m.humidity) };
}

/**
 * A device's climate: daily cycle + drift + noise + injected anomalies + the
 * effect of its cooling actuator. It draws the same random numbers in the same
 * order whatever the cooling does, so commands change values, never the sequence.
 */
export function createClimate(options: ClimateOptions) {
  const { profile, random, startMs, anomalyRate } = options;
  let cooling = false;
  let coolingOffset = 0;
  let lastMs: number | undefined;
  let anomaly: { step: number; steps: number; temperature: number; humidity: number } | undefined;

  function sample(atMs: number): ClimateSample {
    const dt = lastMs === undefined ? 0 : Math.max(0, atMs - lastMs);
    lastMs = atMs;
    const target = cooling ? -COOLING.depth : 0;
    coolingOffset = target + (coolingOffset - target) * Math.exp(-dt / COOLING.timeConstantMs);

    // Every step draws the same numbers, used or not: the anomaly rate changes where anomalies are, never the noise.
    const onset = random.next();
    const delta = random.between(ANOMALY.minDelta, ANOMALY.maxDelta) * (random.chance(ANOMALY.warmShare) ? 1 : -1);
    const steps = random.int(ANOMALY.minSteps, ANOMALY.maxSteps);
    const humidityRatio = random.between(0.5, 1.5);
    const temperatureNoise = random.normal(0, profile.temperatureNoise);
    const humidityNoise = random.normal(0, profile.humidityNoise);
    if (!anomaly && onset < anomalyRate) anomaly = { step: 0, steps, temperature: delta, humidity: -delta * humidityRatio };
    let anomalyTemperature = 0;
    let anomalyHumidity = 0;
    const inAnomaly = anomaly !== undefined;
    if (anomaly) {
      const shape = Math.sin((Math.PI * (anomaly.step + 1)) / (anomaly.steps + 1));
      anomalyTemperature = anomaly.temperature * shape;
      anomalyHumidity = anomaly.humidity * shape;
      if (++anomaly.step >= anomaly.steps) anomaly = undefined;
    }

    const cycle = Math.cos((2 * Math.PI * ((atMs / HOUR_MS) % 24 - profile.peakHour)) / 24);
    const days = (atMs - startMs) / DAY_MS;
    const temperature = profile.baseTemperature + profile.temperatureAmplitude * cycle + profile.temperatureDriftPerDay * days + anomalyTemperature + coolingOffset + temperatureNoise;
    const humidity = profile.baseHumidity - profile.humidityAmplitude * cycle + profile.humidityDriftPerDay * days + anomalyHumidity + humidityNoise;
    return { temperature: sensorTemperature(temperature), humidity: sensorHumidity(humidity), anomaly: inAnomaly };
  }

  return {
    sample,
    /** Switch the cooling actuator; the temperature follows over the next readings. */
    setCooling(on: boolean): void {
      cooling = on;
    },
    state: () => ({ cooling, coolingOffset }),
  };
}
export type Climate = ReturnType<typeof createClimate>;
