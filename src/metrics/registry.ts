import { Counter, Gauge, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration } from "prom-client";
import { errorMessage } from "../errors.ts";
import type { RawRoute } from "../http/server.ts";
import { silentLogger, type Logger } from "../log.ts";

export { Registry };

export interface RegistryOptions {
  /** Node's process metrics (memory, CPU, event loop lag), prefixed `tide_`. */
  processMetrics?: boolean;
  /** Where a metric that cannot be read is reported (default: nowhere; it is still counted). */
  logger?: Logger;
}

/** One registry per process role (each edge runtime and the cloud services have their own, even in one process). */
export function createRegistry(labels: Record<string, string> = {}, options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "tide_" });
  guardOf(registry, options.logger);
  return registry;
}

/** Per registry: the count of failed reads, where they are logged, and the reads under way. */
interface ReadGuard {
  errors: Counter<"metric">;
  logger: Logger;
  reading: Set<Promise<unknown>>;
}

const guards = new WeakMap<Registry, ReadGuard>();

function guardOf(registry: Registry, logger?: Logger): ReadGuard {
  let guard = guards.get(registry);
  if (!guard) {
    const reading = new Set<Promise<unknown>>();
    const errors = new Counter<"metric">({
      name: "tide_metrics_collect_errors_total",
      help: "Metric reads that failed at scrape time (that metric's series are left out of the scrape; the others are not), by metric",
      labelNames: ["metric"],
      registers: [registry],
      async collect() {
        // A scrape starts every metric's read at once: let them start, then count the failures of this same scrape.
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.allSettled([...reading]);
      },
    });
    guard = { errors, logger: logger ?? silentLogger, reading };
    guards.set(registry, guard);
  }
  if (logger) guard.logger = logger;
  return guard;
}

/**
 * A metric's read, made safe for the scrape: a read that throws (a JetStream
 * round trip that times out, a busy database) is counted in
 * `tide_metrics_collect_errors_total{metric}` and logged, and that metric
 * reports nothing this time, instead of failing the whole scrape.
 */
async function guardedRead(registry: Registry, metric: string, read: () => Labelled | Promise<Labelled>): Promise<Labelled | undefined> {
  const guard = guardOf(registry);
  const attempt = (async () => await read())();
  guard.reading.add(attempt);
  try {
    return await attempt;
  } catch (error) {
    guard.errors.inc({ metric });
    guard.logger.warn({ metric, err: errorMessage(error) }, "metric not read; left out of this scrape");
    return undefined;
  } finally {
    guard.reading.delete(attempt);
  }
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
 * rebuilt projection) is taken as the new base and adds nothing. A read that
 * fails is counted, not fatal.
 */
export function totalCounter<L extends string>(registry: Registry, config: Omit<CounterConfiguration<L>, "registers" | "collect">, read: () => Labelled | Promise<Labelled>) {
  const last = new Map<string, number>();
  return new Counter<L>({
    ...config,
    registers: [registry],
    async collect() {
      // A failed read adds nothing: the counter keeps its value.
      for (const [labels, value] of (await guardedRead(registry, config.name, read)) ?? []) {
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

/** A gauge read at scrape time; labels not reported by this read are dropped (a finished task leaves its state). A read that fails is counted, not fatal. */
export function readGauge<L extends string>(registry: Registry, config: Omit<GaugeConfiguration<L>, "registers" | "collect">, read: () => Labelled | Promise<Labelled>) {
  return new Gauge<L>({
    ...config,
    registers: [registry],
    async collect() {
      // A failed read drops the gauge's series: no value is better than a stale one.
      const values = (await guardedRead(registry, config.name, read)) ?? [];
      this.reset();
      for (const [labels, value] of values) this.set(labels as Partial<Record<L, string>>, value);
      // reset() puts a gauge without labels back at 0: nothing read means no series, not a made-up 0.
      if (values.length === 0 && !config.labelNames?.length) this.remove({});
    },
  });
}
