import { z } from "zod";

/**
 * One event type: its versioned name (`tide.reading.recorded.v1`) and the zod
 * schema of its data. `schema` is the `{ type, data }` object that the catalogue
 * combines into one discriminated union.
 */
export interface EventDefinition<T extends string, D extends z.ZodType> {
  readonly type: T;
  readonly data: D;
  /**
   * Optional fast path for a hot event type: true only when `data.parse(x)`
   * would succeed and give back exactly `x` (no key stripped, nothing
   * transformed). False says nothing: the schema decides then.
   */
  readonly accepts?: (x: unknown) => x is z.infer<D>;
  readonly schema: z.ZodObject<{ type: z.ZodLiteral<T>; data: D }>;
}

export function defineEvent<const T extends string, D extends z.ZodType>(type: T, data: D, accepts?: (x: unknown) => x is z.infer<D>): EventDefinition<T, D> {
  if (!/^tide\.[a-z_]+(\.[a-z_]+)*\.v\d+$/.test(type)) {
    throw new Error(`event type '${type}' must look like tide.<family>.<name>.v<N>`);
  }
  return { type, data, schema: z.object({ type: z.literal(type), data }), ...(accepts ? { accepts } : {}) };
}

/** A finite number (zod 4 already refuses NaN and ±Infinity). */
export const finite = () => z.number();
export const isoTime = () => z.iso.datetime({ offset: true });
/** The pattern `isoTime()` checks a string against (its only check), for fast paths; undefined if zod no longer keeps it there. */
export const ISO_TIME_PATTERN: RegExp | undefined = (() => {
  const pattern = (isoTime()._zod as { pattern?: unknown }).pattern;
  return pattern instanceof RegExp ? pattern : undefined;
})();
export const nonNegativeInt = () => z.number().int().nonnegative();
export const positiveInt = () => z.number().int().positive();
export const seq = () => z.number().int().positive();
