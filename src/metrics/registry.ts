import { Counter, Gauge, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration } from "prom-client";
import type { RawRoute } from "../http/server.ts";

export { Registry };

/** One registry per process role (each edge runtime and the cloud services have their own, even in one process). */
export function createRegistry(labels: Record<string, string> = {}, options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "tide_" });
  return registry;
}

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoute(registry: Registry): RawRoute {
  return {
    method: "GET",
    path: "/metrics",
    async serve(_req, res) {
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(body) });
      res.end(body);
    },
  };
}

/** Values by labels, as a metric's reader returns them. */
export type Labelled = ReadonlyArray<readonly [labels: Record<string, string>, value: number]>;

/**
 * A counter whose value is a running total kept elsewhere (a stats object, a
 * projection): each scrape adds what the total grew by since the last one, so
 * it stays a counter (monotonic) for `rate()`. A total that shrinks (a
 * rebuilt projection) is taken as the new base and adds nothing.
 */
export function totalCounter<L extends string>(registry: Registry, config: Omit<CounterConfiguration<L>, "registers" | "collect">, read: () => Labelled | Promise<Labelled>) {
  const last = new Map<string, number>();
  return new Counter<L>({
    ...config,
    registers: [registry],
    async collect() {
      for (const [labels, value] of await read()) {
        const key = JSON.stringify(labels);
        const seen = last.has(key);
        const grew = value - (last.get(key) ?? 0);
        last.set(key, value);
        if (grew > 0) this.inc(labels as Partial<Record<L, string>>, grew);
        else if (!seen) this.inc(labels as Partial<Record<L, string>>, 0);
      }
    },
  });
}

/** A gauge read at scrape time; labels not reported by this read are dropped (a finished task leaves its state). */
export function readGauge<L extends string>(registry: Registry, config: Omit<GaugeConfiguration<L>, "registers" | "collect">, read: () => Labelled | Promise<Labelled>) {
  return new Gauge<L>({
    ...config,
    registers: [registry],
    async collect() {
      const values = await read();
      this.reset();
      for (const [labels, value] of values) this.set(labels as Partial<Record<L, string>>, value);
    },
  });
}
