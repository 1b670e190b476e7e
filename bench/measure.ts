import { performance } from "node:perf_hooks";
import type { BenchFigure } from "./types.ts";

/** A rate measured once: `count` items in `seconds`. */
export interface Rate {
  count: number;
  seconds: number;
  perSecond: number;
  /** CPU time this Node process spent per item (user + system), in µs: steadier than wall time on a busy machine. */
  cpuMicrosPerItem?: number;
}

export function rateOf(count: number, seconds: number, cpuMicros?: number): Rate {
  return { count, seconds, perSecond: count / seconds, ...(cpuMicros === undefined ? {} : { cpuMicrosPerItem: cpuMicros / count }) };
}

/** Time `work`, which handles `count` items; returns its rate. */
export async function timeRate(count: number, work: () => Promise<unknown> | unknown): Promise<Rate> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return rateOf(count, seconds, used.user + used.system);
}

/** The fastest of several runs: the one least disturbed by the rest of the machine. */
export function best(rates: readonly Rate[]): Rate {
  if (rates.length === 0) throw new Error("best of no runs");
  return rates.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
}

/**
 * Measure several sides `runs` times each, interleaved, rotating which side
 * goes first, so no side always meets a warmer (or fuller, or busier) server.
 * Returns each side's best run.
 */
export async function interleaved<K extends string>(
  runs: number,
  sides: Record<K, () => Promise<Rate>>,
  onRun?: (side: K, run: number, rate: Rate) => void,
): Promise<Record<K, Rate>> {
  const names = Object.keys(sides) as K[];
  const all = new Map<K, Rate[]>(names.map((n) => [n, []]));
  for (let run = 0; run < runs; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]!);
    for (const side of order) {
      const rate = await sides[side]();
      all.get(side)!.push(rate);
      onRun?.(side, run, rate);
    }
  }
  return Object.fromEntries(names.map((n) => [n, best(all.get(n)!)])) as Record<K, Rate>;
}

/**
 * Call `send(i)` for i in [0, n) keeping at most `window` calls unsettled, the
 * way an async publisher bounds its outstanding acks. Both sides of a
 * throughput ratio go through this same loop, so its cost is shared.
 */
export function pump(n: number, window: number, send: (i: number) => Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let settled = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (!failed) reject(error);
      failed = true;
    };
    const done = () => {
      settled++;
      if (settled === n) resolve();
      else fill();
    };
    const fill = () => {
      while (!failed && next < n && next - settled < window) send(next++).then(done, fail);
    };
    if (n === 0) resolve();
    else fill();
  });
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A ratio figure: our rate as `value`, the raw rate as `ceiling`. */
export function ratioFigure(name: string, unit: string, ours: Rate, ceiling: Rate, target: number): BenchFigure {
  return { name, value: Math.round(ours.perSecond), unit, ceiling: Math.round(ceiling.perSecond), ratio: round(ours.perSecond / ceiling.perSecond), target };
}

/** `12,345/s` */
export const perSecond = (rate: Rate) => `${Math.round(rate.perSecond).toLocaleString("en-US")}/s`;

/** `12,345/s (81.0 µs wall, 52.3 µs CPU per item)` */
export function describeRate(rate: Rate): string {
  const cpu = rate.cpuMicrosPerItem === undefined ? "" : `, ${rate.cpuMicrosPerItem.toFixed(1)} µs CPU`;
  return `${perSecond(rate)} (${(1e6 / rate.perSecond).toFixed(1)} µs wall${cpu} per item)`;
}
