import { z } from "zod";

/**
 * One event type: its versioned name (`tide.reading.recorded.v1`) and the zod
 * schema of its data. `schema` is the `{ type, data }` object that the catalogue
 * combines into one discriminated union.
 */
export interface EventDefinition<T extends string, D extends z.ZodType> {
  readonly type: T;
  readonly data: D;
  readonly schema: z.ZodObject<{ type: z.ZodLiteral<T>; data: D }>;
}

export function defineEvent<const T extends string, D extends z.ZodType>(type: T, data: D): EventDefinition<T, D> {
  if (!/^tide\.[a-z_]+(\.[a-z_]+)*\.v\d+$/.test(type)) {
    throw new Error(`event type '${type}' must look like tide.<family>.<name>.v<N>`);
  }
  return { type, data, schema: z.object({ type: z.literal(type), data }) };
}

/** A finite number (zod 4 already refuses NaN and ±Infinity). */
export const finite = () => z.number();
export const isoTime = () => z.iso.datetime({ offset: true });
export const nonNegativeInt = () => z.number().int().nonnegative();
export const positiveInt = () => z.number().int().positive();
export const seq = () => z.number().int().positive();
