import type { PredictionObservation } from "../pipeline/pipeline.ts";

/** How a model version did on this edge: what `model.observed` reports. */
export interface Performance {
  version: string;
  inferences: number;
  maeC?: number;
  latencyMs?: number;
}

interface Window {
  errors: number[];
  latencies: number[];
  next: number;
}

/**
 * Per model version, the recent prediction errors and latencies on this edge.
 * A prediction of a device's next temperature is scored when that device's
 * next reading arrives, and counts for the version that made it; so a model
 * swapped in mid-stream is judged on its own predictions only. Keeps the last
 * `capacity` scored predictions per version.
 */
export function createScorecard(capacity = 500) {
  const last = new Map<string, PredictionObservation>();
  const windows = new Map<string, Window>();

  const windowOf = (version: string): Window => {
    let w = windows.get(version);
    if (!w) windows.set(version, (w = { errors: [], latencies: [], next: 0 }));
    return w;
  };

  return {
    observe(o: PredictionObservation): void {
      const previous = last.get(o.device);
      if (previous && o.seq <= previous.seq) return; // a redelivered reading: scored already
      last.set(o.device, o);
      if (!previous) return;
      const w = windowOf(previous.modelVersion);
      const error = Math.abs(o.temperature - previous.predicted);
      if (w.errors.length < capacity) {
        w.errors.push(error);
        w.latencies.push(previous.latencyMs);
      } else {
        w.errors[w.next] = error;
        w.latencies[w.next] = previous.latencyMs;
        w.next = (w.next + 1) % capacity;
      }
    },
    /** The version's figures over its scored predictions (since `reset`). */
    performance(version: string): Performance {
      const w = windows.get(version);
      if (!w || w.errors.length === 0) return { version, inferences: 0 };
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      return { version, inferences: w.errors.length, maeC: mean(w.errors), latencyMs: mean(w.latencies) };
    },
    /** Forget a version's figures (a fresh observation of it starts). */
    reset(version: string): void {
      windows.delete(version);
    },
  };
}
export type Scorecard = ReturnType<typeof createScorecard>;
