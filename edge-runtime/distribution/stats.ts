import type { EventData, Route } from "../../src/events/index.ts";
import type { EdgeId } from "../../src/ids.ts";
import type { Decision } from "./router.ts";

/** The data of `tide.distribution.stats.v1`. */
export type StatsData = EventData<"tide.distribution.stats.v1">;

interface Tally {
  dataType: string;
  rule: string;
  route: Route;
  readings: number;
  forwarded: number;
}

/**
 * Counts where readings went: per (data type, rule, route in force), how
 * many were routed and how many of those were forwarded raw. `take` closes
 * the interval and starts the next, so successive stats events add up to
 * everything routed. Counting is one map lookup: it runs on the ingest path.
 */
export function createDistributionStats(edge: EdgeId, now: () => number = Date.now) {
  let tallies = new Map<string, Tally>();
  let windowStart = now();
  const totals = { readings: 0, forwarded: 0 };

  return {
    /** Count one routing decision. */
    count(decision: Decision): void {
      const key = `${decision.dataType}\u0000${decision.rule}\u0000${decision.route}`;
      let tally = tallies.get(key);
      if (!tally) {
        tally = { dataType: decision.dataType, rule: decision.rule, route: decision.route, readings: 0, forwarded: 0 };
        tallies.set(key, tally);
      }
      tally.readings++;
      totals.readings++;
      if (decision.forward) {
        tally.forwarded++;
        totals.forwarded++;
      }
    },
    /** Close the current interval: its stats, or undefined when nothing was routed in it. */
    take(): StatsData | undefined {
      const end = now();
      const counts = [...tallies.values()];
      const data: StatsData = { edge, windowStart: new Date(windowStart).toISOString(), windowEnd: new Date(end).toISOString(), counts };
      tallies = new Map();
      windowStart = end;
      return counts.length ? data : undefined;
    },
    /** Everything counted since the start. */
    totals: (): Readonly<typeof totals> => ({ ...totals }),
  };
}
/** Routing counters of one edge. */
export type DistributionStats = ReturnType<typeof createDistributionStats>;
