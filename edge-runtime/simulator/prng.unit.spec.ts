import { describe, expect, it } from "vitest";
import { createRandom } from "./prng.ts";

const draw = (n: number, f: () => number) => Array.from({ length: n }, f);

describe("createRandom", () => {
  it("gives the same stream for the same seed and labels, another for another seed or label", () => {
    const a = createRandom(1, "sim-1", "climate");
    const b = createRandom(1, "sim-1", "climate");
    const first = draw(100, a.next);
    expect(draw(100, b.next)).toEqual(first);
    for (const other of [createRandom(2, "sim-1", "climate"), createRandom(1, "sim-2", "climate"), createRandom(1, "sim-1", "faults")]) {
      expect(draw(100, other.next).filter((x, i) => x === first[i])).toEqual([]);
    }
  });

  it("is uniform in [0, 1), with integers in their closed range", () => {
    const random = createRandom("uniform");
    const xs = draw(100_000, random.next);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 2);
    const buckets = new Array(10).fill(0);
    for (const x of xs) buckets[Math.floor(x * 10)]++;
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500);
    const ints = new Set(draw(10_000, () => random.int(3, 7)));
    expect([...ints].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it("draws normal values with the asked mean and spread", () => {
    const random = createRandom("normal");
    const xs = draw(100_000, () => random.normal(10, 2));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(10, 1);
    expect(sd).toBeCloseTo(2, 1);
    expect(xs.every(Number.isFinite)).toBe(true);
  });
});
