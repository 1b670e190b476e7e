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
