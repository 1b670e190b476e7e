import { describe, expect, it } from "vitest";
import { deterministicId } from "./ids.ts";

describe("deterministicId", () => {
  // Ids already stored must keep deduplicating retries: these are the ids the first implementation (createHash) gave.
  it.each([
    [["1", "dev-001", "2025-01-01T00:00:00.000Z", "7"], "9f35097c-c5be-5f97-bdac-01f56fe91bb9"],
    [["edge-9", "d", "x", ""], "946b5d81-c202-523f-8baa-9aaba9d0c6e2"],
    [[], "e3b0c442-98fc-5c14-9afb-f4c8996fb924"],
    [["ünï", "\u0000"], "b61484fc-2d3d-5ce5-8fc7-561ecf10a5e2"],
  ])("gives %j the id it always gave", (parts, id) => {
    expect(deterministicId(...parts)).toBe(id);
  });
});
