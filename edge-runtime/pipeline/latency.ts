/** A bounded sample of latencies (ms) for p50/p99 reports, cheap on the hot path. */
export function createLatencyRecorder(capacity = 20_000) {
  const samples = new Float64Array(capacity);
  let count = 0;
  return {
    record(ms: number): void {
      samples[count % capacity] = ms;
      count++;
    },
    get count(): number {
      return count;
    },
    /** The q-quantile (0..1) of the samples kept, or undefined when none. */
    quantile(q: number): number | undefined {
      const n = Math.min(count, capacity);
      if (n === 0) return undefined;
      const sorted = Array.from(samples.subarray(0, n)).sort((a, b) => a - b);
      return sorted[Math.min(n - 1, Math.floor(q * n))];
    },
    reset(): void {
      count = 0;
    },
  };
}
export type LatencyRecorder = ReturnType<typeof createLatencyRecorder>;
