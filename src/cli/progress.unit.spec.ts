import { describe, expect, it } from "vitest";
import { createProgressBar, renderProgress } from "./progress.ts";

const progress = { epoch: 3, epochs: 8, loss: 0.012345, valLoss: 0.0145, durationMs: 210 };

describe("renderProgress", () => {
  it("fills the bar in proportion and shows the epoch's figures", () => {
    expect(renderProgress(progress, 8)).toBe("[###-----] epoch 3/8  loss 0.0123  val 0.0145  0.21 s/epoch");
    expect(renderProgress({ ...progress, epoch: 8 }, 8)).toMatch(/^\[########\] epoch 8\/8/);
  });
});

describe("createProgressBar", () => {
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { stream: { isTTY, columns: 200, write: (c: string) => chunks.push(c) }, chunks };
  };

  it("redraws one line in place on a terminal, and ends it with a newline", () => {
    const { stream, chunks } = sink(true);
    const bar = createProgressBar(stream);
    bar.update(progress);
    bar.update({ ...progress, epoch: 4 });
    bar.end();
    expect(chunks).toHaveLength(3);
    expect(chunks[0]).toMatch(/^\r\[.*epoch 3\/8.*\x1b\[K$/);
    expect(chunks[1]).toMatch(/epoch 4\/8/);
    expect(chunks[2]).toBe("\n");
  });

  it("writes nothing when the stream is not a terminal", () => {
    const { stream, chunks } = sink(false);
    const bar = createProgressBar(stream);
    bar.update(progress);
    bar.end();
    expect(bar.enabled).toBe(false);
    expect(chunks).toEqual([]);
  });
});

describe("createCountBar", () => {
  it("draws the count and rate at most every interval on a terminal, and nothing elsewhere", async () => {
    const { createCountBar, renderCount } = await import("./progress.ts");
    expect(renderCount(250, 1000, 5000, "events", 8)).toBe("[##------] 250/1,000 events  5,000/s");
    // A read whose end cannot be known (replay --until): the count alone.
    expect(renderCount(250, undefined, 5000, "events", 8)).toBe("250 events  5,000/s");
    let t = 0;
    const chunks: string[] = [];
    const bar = createCountBar({ isTTY: true, columns: 200, write: (c: string) => chunks.push(c) }, "events", 100, () => t);
    t = 1000;
    bar.update(10, 100);
    t = 1050;
    bar.update(20, 100); // too soon: not drawn
    t = 2000;
    bar.update(50, 100);
    bar.end(100);
    expect(chunks.filter((c) => c.startsWith("\r")).map((c) => c.replace(/\x1b\[K$/, ""))).toEqual([
      "\r[##----------------------] 10/100 events  10/s",
      "\r[############------------] 50/100 events  25/s",
      "\r[########################] 100/100 events  50/s",
    ]);
    expect(chunks.at(-1)).toBe("\n");
    const piped: string[] = [];
    const off = createCountBar({ isTTY: false, write: (c: string) => piped.push(c) });
    off.update(1, 2);
    off.end(2);
    expect(off.enabled).toBe(false);
    expect(piped).toEqual([]);
  });
});
