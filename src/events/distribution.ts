import { z } from "zod";
import { EdgeId } from "../ids.ts";
import { defineEvent, isoTime, nonNegativeInt } from "./define.ts";

export const Route = z.enum(["local", "raw", "summary", "anomalies"]);
export type Route = z.infer<typeof Route>;

export const distributionStats = defineEvent(
  "tide.distribution.stats.v1",
  z.object({
    edge: EdgeId,
    windowStart: isoTime(),
    windowEnd: isoTime(),
    counts: z.array(
      z.object({ dataType: z.string().min(1), rule: z.string().min(1), route: Route, readings: nonNegativeInt(), forwarded: nonNegativeInt() }),
    ),
  }),
);

export const distributionModeChanged = defineEvent(
  "tide.distribution.mode_changed.v1",
  z.object({
    edge: EdgeId,
    rule: z.string().min(1),
    from: Route,
    to: Route,
    reason: z.string().min(1),
    link: z.object({ connected: z.boolean(), rttMs: z.number().nonnegative().optional(), backlog: nonNegativeInt() }),
  }),
);
