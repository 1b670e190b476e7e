import pino from "pino";
import { describe, expect, it } from "vitest";
import { createRegistry, readGauge, totalCounter } from "./registry.ts";

describe("totalCounter", () => {
  it("exposes a running total as a counter that only grows, series by series", async () => {
    const registry = createRegistry({ place: "test" });
    let totals: [Record<string, string>, number][] = [[{ outcome: "stored" }, 0]];
    const counter = totalCounter(registry, { name: "t_total", help: "t", labelNames: ["outcome"] }, () => totals);
    const value = async (outcome: string) => (await counter.get()).values.find((v) => v.labels.outcome === outcome)?.value;
    expect(await value("stored")).toBe(0); // present from the first scrape
    totals = [[{ outcome: "stored" }, 5], [{ outcome: "rejected" }, 2]];
    expect(await value("stored")).toBe(5);
    expect(await value("rejected")).toBe(2);
    // A total that shrinks (a rebuilt projection) becomes the new base: the counter never goes down.
    totals = [[{ outcome: "stored" }, 1]];
    expect(await value("stored")).toBe(5);
    totals = [[{ outcome: "stored" }, 4]];
    expect(await value("stored")).toBe(8);
  });
});

describe("readGauge", () => {
  it("reports what the read returns now, dropping series it no longer returns", async () => {
    const registry = createRegistry();
    let values: [Record<string, string>, number][] = [[{ state: "running" }, 2], [{ state: "pending" }, 1]];
    readGauge(registry, { name: "g", help: "g", labelNames: ["state"] }, () => values);
    expect(await registry.metrics()).toContain('g{state="running"} 2');
    values = [[{ state: "completed" }, 3]];
    const text = await registry.metrics();
    expect(text).toContain('g{state="completed"} 3');
    expect(text).not.toContain("running");
  });
});

describe("a metric whose read fails", () => {
  it("is counted, logged and left out of that scrape; every other metric is still reported", async () => {
    const logged: Array<{ metric?: string; err?: string; msg?: string }> = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const registry = createRegistry({ place: "test" }, { logger });
    let failing = true;
    readGauge(registry, { name: "stream_messages", help: "s" }, async () => {
      if (failing) throw new Error("JetStream timeout");
      return [[{}, 7]];
    });
    totalCounter(registry, { name: "dead_letters_total", help: "d" }, () => {
      if (failing) throw new Error("database is locked");
      return [[{}, 3]];
    });
    readGauge(registry, { name: "tasks", help: "t", labelNames: ["state"] }, () => [[{ state: "running" }, 2]]);

    const first = await registry.metrics();
    expect(first).toContain('tasks{state="running",place="test"} 2');
    expect(first).not.toMatch(/^stream_messages\{/m);
    expect(first).toContain('tide_metrics_collect_errors_total{metric="stream_messages",place="test"} 1');
    expect(first).toContain('tide_metrics_collect_errors_total{metric="dead_letters_total",place="test"} 1');
    expect(logged.map((l) => [l.metric, l.err]).sort()).toEqual([
      ["dead_letters_total", "database is locked"],
      ["stream_messages", "JetStream timeout"],
    ]);

    failing = false;
    const second = await registry.metrics();
    expect(second).toContain('stream_messages{place="test"} 7');
    expect(second).toContain('dead_letters_total{place="test"} 3');
    expect(second).toContain('tide_metrics_collect_errors_total{metric="stream_messages",place="test"} 1');
  });
});
