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
