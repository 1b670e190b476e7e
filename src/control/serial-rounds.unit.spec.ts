import { describe, expect, it } from "vitest";
import { createSerialRounds } from "./serial-rounds.ts";

describe("serial rounds", () => {
  it("runs one round at a time; calls during a round ask for exactly one more", async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const rounds = createSerialRounds(
      async () => {
        runs++;
        active++;
        most = Math.max(most, active);
        await new Promise<void>((resolve) => (release = resolve));
        active--;
      },
      { onError: () => undefined, repeat: () => true },
    );
    const first = rounds.round();
    void rounds.round();
    void rounds.round();
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toBe(2);
    release();
    await rounds.current();
    expect(runs).toBe(2);
    expect(most).toBe(1);
  });

  it("reports a failed round and goes on; no repeat when told not to", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const rounds = createSerialRounds(
      async () => {
        runs++;
        throw new Error("boom");
      },
      { onError: (e) => errors.push(e), repeat: () => false },
    );
    await rounds.round();
    await rounds.round();
    expect(runs).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom", "boom"]);
  });
});
