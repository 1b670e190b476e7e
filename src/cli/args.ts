import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Strict flag parsing: an unknown flag or a missing value is a UsageError naming it. */
export function parse<O extends Options>(argv: string[], options: O, usage: string, allowPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: allowPositionals > 0 });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional.*$/s, "")}\nusage: ${usage}`);
  }
  if (parsed.positionals.length > allowPositionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[allowPositionals]}'\nusage: ${usage}`);
  }
  return parsed;
}

export function int(value: string | undefined, name: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a finite number, got '${value}'`);
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A point in time: ISO 8601, epoch milliseconds, or a duration ago (`90s`, `15m`, `2h`, `1d`). */
export function time(value: string | undefined, name: string, now = Date.now()): Date | undefined {
  if (value === undefined) return undefined;
  const ago = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
  if (ago) return new Date(now - Number(ago[1]) * UNITS[ago[2]!]!);
  if (/^\d{10,}$/.test(value)) return new Date(Number(value));
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t);
  }
  throw new UsageError(`--${name} must be an ISO 8601 time, epoch milliseconds, or a duration ago like 15m; got '${value}'`);
}

export const DIR_OPTION = { dir: { type: "string" } } as const;
export function dirOf(value: string | undefined): string {
  return value ?? process.env.TIDE_DIR ?? ".tide";
}
