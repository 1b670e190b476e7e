import type { ReadingData } from "../../events/reading.ts";
import type { ReadingPoint } from "../../model/features.ts";
import type { StoredEvent } from "../../store/read-stream.ts";

/** Readings of a range, grouped per device (`edge/device`), each in stream order. */
export function readingsByDevice(events: readonly StoredEvent[]): Map<string, (ReadingPoint & { data: ReadingData })[]> {
  const byDevice = new Map<string, (ReadingPoint & { data: ReadingData })[]>();
  for (const { seq, event } of events) {
    if (event.type !== "tide.reading.recorded.v1") continue;
    const key = `${event.data.edge}/${event.data.device}`;
    const list = byDevice.get(key) ?? [];
    list.push({ seq, temperature: event.data.temperature, humidity: event.data.humidity, device: key, data: event.data });
    byDevice.set(key, list);
  }
  return byDevice;
}

/** Calls `progress` about every tenth of `total` steps, and throws when `signal` is aborted. */
export function createStepper(total: number, progress: (fraction: number) => void, signal: AbortSignal) {
  const every = Math.max(1, Math.floor(total / 10));
  let done = 0;
  return () => {
    if (signal.aborted) throw signal.reason ?? new Error("aborted");
    done++;
    if (done % every === 0 && done < total) progress(done / total);
  };
}

/** Yield to the event loop (heartbeats and the tail must keep running during long handlers). */
export const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
