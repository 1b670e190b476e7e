import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.ts";
import { int, num, parse, time } from "./args.ts";

const NOW = Date.parse("2024-06-01T12:00:00.000Z");

describe("int", () => {
  it("parses whole numbers, and leaves an absent flag undefined", () => {
    expect(int("12", "edges")).toBe(12);
    expect(int("0", "edges")).toBe(0);
    expect(int("-3", "offset", { min: -10 })).toBe(-3);
    expect(int(undefined, "edges")).toBeUndefined();
  });

  it.each(["abc", "1.5", "", " 3", "3x", "1e3"])("refuses '%s' as a whole number, naming the flag", (value) => {
    expect(() => int(value, "edges")).toThrow(UsageError);
    expect(() => int(value, "edges")).toThrow(/--edges must be a whole number/);
  });

  it("enforces the bounds, naming them", () => {
    expect(int("64", "edges", { min: 1, max: 64 })).toBe(64);
    expect(() => int("0", "edges", { min: 1, max: 64 })).toThrow(/--edges must be between 1 and 64, got 0/);
    expect(() => int("65", "edges", { min: 1, max: 64 })).toThrow(/--edges must be between 1 and 64, got 65/);
  });
});

describe("num", () => {
  it("parses finite numbers", () => {
    expect(num("21.5", "temperature")).toBe(21.5);
    expect(num("-3", "temperature")).toBe(-3);
    expect(num("1e2", "temperature")).toBe(100);
    expect(num(undefined, "temperature")).toBeUndefined();
  });

  it.each(["hot", "", "  ", "Infinity", "-Infinity", "NaN", "1e999", "21,5"])("refuses '%s', naming the flag", (value) => {
    expect(() => num(value, "temperature")).toThrow(UsageError);
    expect(() => num(value, "temperature")).toThrow(/--temperature must be a finite number/);
  });
});

describe("time", () => {
  it.each([
    ["500ms", 500],
    ["90s", 90_000],
    ["15m", 15 * 60_000],
    ["2h", 2 * 3_600_000],
    ["1d", 86_400_000],
    ["1.5h", 1.5 * 3_600_000],
  ])("reads '%s' as that long before now", (value, ago) => {
    expect(time(value, "since", NOW)?.getTime()).toBe(NOW - ago);
  });

  it("reads epoch milliseconds", () => {
    expect(time("1700000000000", "since", NOW)?.toISOString()).toBe(new Date(1_700_000_000_000).toISOString());
  });

  it("reads ISO 8601 times with and without an offset", () => {
    expect(time("2024-05-01T10:20:30.456Z", "until", NOW)?.toISOString()).toBe("2024-05-01T10:20:30.456Z");
    expect(time("2024-05-01T12:20:30+02:00", "until", NOW)?.toISOString()).toBe("2024-05-01T10:20:30.000Z");
    expect(time("2024-05-01", "until", NOW)?.toISOString()).toBe("2024-05-01T00:00:00.000Z");
  });

  it("leaves an absent flag undefined", () => {
    expect(time(undefined, "since", NOW)).toBeUndefined();
  });

  it.each(["yesterday", "15", "123456789", "15 m", "15y", "-5m", "2024-13-45T00:00:00Z", "now"])("refuses '%s' with a message naming the flag and the accepted forms", (value) => {
    expect(() => time(value, "since", NOW)).toThrow(UsageError);
    expect(() => time(value, "since", NOW)).toThrow(/--since must be an ISO 8601 time, epoch milliseconds, or a duration ago/);
  });
});

describe("parse", () => {
  const options = { edge: { type: "string" }, json: { type: "boolean" } } as const;

  it("returns flags and positionals", () => {
    const { values, positionals } = parse(["READINGS", "--edge", "1", "--json"], options, "usage line", 1);
    expect(values).toEqual({ edge: "1", json: true });
    expect(positionals).toEqual(["READINGS"]);
  });

  it("names an unknown flag and prints the usage", () => {
    expect(() => parse(["--bogus"], options, "tide x [--edge ID]")).toThrow(UsageError);
    expect(() => parse(["--bogus"], options, "tide x [--edge ID]")).toThrow(/--bogus[\s\S]*usage: tide x \[--edge ID\]/);
  });

  it("says which flag is missing its value", () => {
    expect(() => parse(["--edge"], options, "u")).toThrow(/--edge/);
  });

  it("refuses positionals beyond the allowed number, naming the first extra one", () => {
    expect(() => parse(["a", "b"], options, "u", 1)).toThrow(/unexpected argument 'b'/);
    expect(() => parse(["a"], options, "u")).toThrow(UsageError);
  });
});
