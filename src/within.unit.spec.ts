import { getActiveResourcesInfo } from "node:process";
import { describe, expect, it } from "vitest";
import { within } from "./within.ts";

const timers = () => getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("within", () => {
  it("gives the value of a promise that settles in time, and leaves no timer behind", async () => {
    const before = timers();
    expect(await within(Promise.resolve(7), 60_000)).toBe(7);
    expect(timers()).toBe(before);
  });

  it("gives undefined when the time runs out first", async () => {
    expect(await within(new Promise<number>(() => undefined), 20)).toBeUndefined();
  });

  it("passes on a rejection that comes in time, and leaves no timer behind", async () => {
    const before = timers();
    await expect(within(Promise.reject(new Error("no")), 60_000)).rejects.toThrow("no");
    expect(timers()).toBe(before);
  });
});
