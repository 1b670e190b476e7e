import { describe, expect, it } from "vitest";
import { isPlainReading, ReadingData } from "./reading.ts";

/** Readings as devices and ingest make them: every field kind, at and inside the limits. */
const valid: Record<string, unknown>[] = [
  { edge: "1", device: "dev-000", ts: "2025-01-01T00:00:00.000Z", seq: 0, temperature: 15, humidity: 30 },
  { edge: "edge-7", device: "A_b-9", ts: "2024-02-29T23:59:59Z", temperature: -60, humidity: 0 },
  { edge: "a".repeat(32), device: "d".repeat(64), ts: "2025-06-30T12:00:00.123456+02:00", seq: Number.MAX_SAFE_INTEGER, temperature: 125, humidity: 100 },
  { edge: "0", device: "x", ts: "2025-12-31T23:59:59.9-11:30", seq: 3, temperature: -0, humidity: 55.5 },
];

/** Values of every kind that a field could wrongly (or rightly) hold. */
const odd: unknown[] = [
  undefined, null, "", " ", "x", "cloud", "CLOUD", "-1", "1.5", "a".repeat(33), "d".repeat(65), "dev 1", "dev.1", "dev/1", "é",
  0, -0, 1, -1, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  -60, -60.0001, 125, 125.0001, 100, 100.0001, -0.0001, 1e308,
  true, false, [], [1], {}, { a: 1 }, new Date(0),
  "2025-01-01", "2025-01-01T00:00:00", "2025-02-30T00:00:00Z", "2025-13-01T00:00:00Z", "2025-01-01T24:00:00Z", "2025-01-01T00:00:00.Z",
  "2025-01-01T00:00:00+2:00", "2025-01-01 00:00:00Z", "2025-01-01T00:00:00z", "2023-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
];

function* mutations(): Generator<[string, unknown]> {
  for (const [i, base] of valid.entries()) {
    yield [`valid ${i}`, { ...base }];
    for (const field of ["edge", "device", "ts", "seq", "temperature", "humidity"]) {
      const without = { ...base };
      delete without[field];
      yield [`${i}: no ${field}`, without];
      for (const value of odd) yield [`${i}: ${field} = ${String(value)}`, { ...base, [field]: value }];
    }
    yield [`${i}: an extra key`, { ...base, extra: 1 }];
    yield [`${i}: a key named like a prototype's`, JSON.parse(JSON.stringify(base).replace("{", '{"__proto__":{"x":1},'))];
    yield [`${i}: no prototype`, Object.assign(Object.create(null), base)];
    yield [`${i}: a class instance`, Object.assign(new (class Reading {})(), base)];
    yield [`${i}: an array of it`, [base]];
  }
  for (const value of odd) yield [`not an object: ${String(value)}`, value];
}

describe("isPlainReading (the reading schema's fast path)", () => {
  it("accepts only what the schema accepts, and only where the schema gives it back unchanged", () => {
    let accepted = 0;
    let cases = 0;
    for (const [name, x] of mutations()) {
      cases++;
      if (!isPlainReading(x)) continue;
      accepted++;
      const parsed = ReadingData.safeParse(x);
      expect(parsed.success, name).toBe(true);
      expect(parsed.data, name).toStrictEqual(x);
    }
    // The fast path is taken (every valid reading at least) and refuses most of the rest.
    expect(cases).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThanOrEqual(valid.length);
  });

  it("accepts every valid reading, as JSON.parse gives it back", () => {
    for (const reading of valid) expect(isPlainReading(JSON.parse(JSON.stringify(reading)))).toBe(true);
  });

  it("leaves to the schema what it would change or refuse", () => {
    const base = valid[0]!;
    // The schema strips an unknown key: the fast path must not accept it as it is.
    expect(ReadingData.safeParse({ ...base, extra: 1 }).success).toBe(true);
    expect(isPlainReading({ ...base, extra: 1 })).toBe(false);
    for (const bad of [{ ...base, edge: "cloud" }, { ...base, temperature: 125.5 }, { ...base, seq: -1 }, { ...base, ts: "2025-02-30T00:00:00Z" }, { ...base, humidity: Number.NaN }]) {
      expect(ReadingData.safeParse(bad).success).toBe(false);
      expect(isPlainReading(bad)).toBe(false);
    }
  });
});
