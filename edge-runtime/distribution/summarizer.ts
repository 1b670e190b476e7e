import type { EventData, ReadingData } from "../../src/events/index.ts";
import type { EdgeId } from "../../src/ids.ts";
import type { Metric } from "./policy.ts";

/** The data of `tide.summary.recorded.v1`. */
export type SummaryData = EventData<"tide.summary.recorded.v1">;

interface Stat {
  sum: number;
  min: number;
  max: number;
}

interface OpenWindow {
  startMs: number;
  windowMs: number;
  count: number;
  stats: Record<Metric, Stat>;
  fromSeq: number;
  toSeq: number;
  /** Wall-clock time of the last reading added, for the idle flush. */
  lastAddedAt: number;
}

const METRICS: readonly Metric[] = ["temperature", "humidity"];

function stat(x: number): Stat {
  return { sum: x, min: x, max: x };
}

function close(edge: EdgeId, device: string, w: OpenWindow): SummaryData {
  const out = (m: Metric) => ({ mean: w.stats[m].sum / w.count, min: w.stats[m].min, max: w.stats[m].max });
  return {
    edge,
    device,
    windowStart: new Date(w.startMs).toISOString(),
    windowEnd: new Date(w.startMs + w.windowMs).toISOString(),
    count: w.count,
    temperature: out("temperature"),
    humidity: out("humidity"),
    fromSeq: w.fromSeq,
    toSeq: w.toSeq,
  };
}

/**
 * Per-device window aggregates for the `summary` route. Windows are aligned
 * to the epoch and chosen by reading time (the device's clock). A device has
 * one open window: a reading of any other window closes it, so every summary
 * covers only readings of its own window (a late reading makes a second,
 * small summary of its window rather than a wrong one). No I/O: callers
 * append what `add` and the flushes return.
 */
export function createSummarizer(edge: EdgeId) {
  const open = new Map<string, OpenWindow>();

  return {
    /** Add a stored reading (`seq` in the edge READINGS); returns the summary of a window this closed, if any. */
    add(reading: ReadingData, seq: number, windowSeconds: number, now: number): SummaryData | undefined {
      const windowMs = windowSeconds * 1000;
      const startMs = Math.floor(Date.parse(reading.ts) / windowMs) * windowMs;
      const current = open.get(reading.device);
      if (current && current.startMs === startMs && current.windowMs === windowMs) {
        current.count++;
        for (const m of METRICS) {
          const s = current.stats[m];
          const x = reading[m];
          s.sum += x;
          if (x < s.min) s.min = x;
          if (x > s.max) s.max = x;
        }
        current.fromSeq = Math.min(current.fromSeq, seq);
        current.toSeq = Math.max(current.toSeq, seq);
        current.lastAddedAt = now;
        return undefined;
      }
      const stats = { temperature: stat(reading.temperature), humidity: stat(reading.humidity) };
      open.set(reading.device, { startMs, windowMs, count: 1, stats, fromSeq: seq, toSeq: seq, lastAddedAt: now });
      return current ? close(edge, reading.device, current) : undefined;
    },
    /**
     * Close the windows of idle devices: those whose window has ended by the
     * wall clock and that sent nothing for `idleMs`.
     */
    flushIdle(now: number, idleMs: number): SummaryData[] {
      const out: SummaryData[] = [];
      for (const [device, w] of open) {
        if (now >= w.startMs + w.windowMs && now - w.lastAddedAt >= idleMs) {
          open.delete(device);
          out.push(close(edge, device, w));
        }
      }
      return out;
    },
    /** Close every open window (at stop), so nothing summarised is lost. */
    flushAll(): SummaryData[] {
      const out = [...open].map(([device, w]) => close(edge, device, w));
      open.clear();
      return out;
    },
    /** Open windows, for status. */
    get openWindows(): number {
      return open.size;
    },
  };
}
/** Per-device summary windows. */
export type Summarizer = ReturnType<typeof createSummarizer>;
