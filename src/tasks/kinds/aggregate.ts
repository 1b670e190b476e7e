import { z } from "zod";
import type { TaskKind } from "./registry.ts";
import { createStepper, readingsByDevice, yieldNow } from "./readings.ts";

const Payload = z
  .object({
    /** Per-device rows in the result at most (default 100); the overall summary covers all. */
    maxDevices: z.number().int().positive().max(1000).default(100),
  })
  .strict();

interface Stat {
  mean: number;
  min: number;
  max: number;
}

function statOf(values: readonly number[]): Stat {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { mean: round(sum / values.length), min: round(min), max: round(max) };
}

/** `aggregate`: count, mean, min and max of temperature and humidity over a stream range, overall and per device. */
export const aggregateKind: TaskKind = {
  kind: "aggregate",
  description: "summarise a stream range of readings: count/mean/min/max, overall and per device",
  payload: Payload,
  readsData: true,
  async handler(ctx) {
    const { maxDevices } = ctx.payload as z.infer<typeof Payload>;
    const byDevice = readingsByDevice(await ctx.readData());
    const step = createStepper(byDevice.size, ctx.progress, ctx.signal);
    const temperatures: number[] = [];
    const humidities: number[] = [];
    const devices: { device: string; count: number; temperature: Stat; humidity: Stat }[] = [];
    for (const [device, points] of byDevice) {
      step();
      const t = points.map((p) => p.temperature);
      const h = points.map((p) => p.humidity);
      temperatures.push(...t);
      humidities.push(...h);
      if (devices.length < maxDevices) devices.push({ device, count: points.length, temperature: statOf(t), humidity: statOf(h) });
      if (devices.length % 50 === 0) await yieldNow();
    }
    if (temperatures.length === 0) return { readings: 0, devices: [] };
    return { readings: temperatures.length, temperature: statOf(temperatures), humidity: statOf(humidities), deviceCount: byDevice.size, devices };
  },
};
