import type { ReadingPoint } from "./features.ts";

export interface SyntheticOptions {
  /** Device ids; readings are interleaved round-robin, as a stream would hold them. */
  devices?: readonly string[];
  /** Readings per device. */
  perDevice?: number;
  seed?: number;
  /** Temperature noise amplitude, °C. */
  noise?: number;
}

/** mulberry32: a tiny seeded PRNG, so fixtures are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Deterministic climate-like readings for model tests and benchmarks: a slow
 * cycle per device (different phase and level), humidity anti-correlated,
 * plus seeded noise. `seq` numbers the readings 1.. in stream order.
 */
export function syntheticReadings(options: SyntheticOptions = {}): ReadingPoint[] {
  const { devices = ["d1"], perDevice = 200, seed = 1, noise = 0.1 } = options;
  const random = seededRandom(seed);
  const out: ReadingPoint[] = [];
  let seq = 0;
  for (let i = 0; i < perDevice; i++) {
    devices.forEach((device, d) => {
      const phase = (2 * Math.PI * i) / 48 + d;
      const temperature = 20 + d + 4 * Math.sin(phase) + noise * (random() * 2 - 1);
      const humidity = 50 - 10 * Math.sin(phase) + noise * 5 * (random() * 2 - 1);
      out.push({ seq: ++seq, device, temperature, humidity });
    });
  }
  return out;
}
