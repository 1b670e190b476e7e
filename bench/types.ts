/** One figure of `bench/results.json` (DESIGN §10). */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The raw rate measured in the same run, for a ratio. */
  ceiling?: number;
  /** `value / ceiling`. */
  ratio?: number;
  target?: number;
  /** TensorFlow.js backend, for the benchmarks that use one. */
  backend?: string;
  /** ISO 8601 time of the run. */
  date: string;
}

export type BenchFigure = Omit<BenchResult, "date">;

/** What one benchmark hands back: its figures and, for BENCHMARKS.md, how it measured them. */
export interface BenchOutcome {
  figures: BenchFigure[];
  /** Heading of its BENCHMARKS.md section. */
  title: string;
  /** How it was measured, for people. */
  how: string;
  /** Supporting measurements from the same run (not in results.json): where the time goes. */
  details: string[];
}
