import { describe, expect, it } from "vitest";
import { parseCommand } from "./commands.ts";

const encode = (body: string | object) => new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
const SUBJECT = "tide.command.1.sim-1";

describe("parseCommand", () => {
  it.each([
    ["the data of a tide.command.issued.v1 event", { edge: "1", device: "sim-1", command: "cooling_on", decisionId: "d-1" }, "cooling_on"],
    ["an { action } object", { action: "cooling_off" }, "cooling_off"],
    ["the bare action as text", " hold\n", "hold"],
  ])("reads %s", (_, body, action) => {
    expect(parseCommand(SUBJECT, encode(body))).toEqual({ ok: true, device: "sim-1", action });
  });

  it.each([
    ["an unknown action", { command: "heat_on" }, "cooling_on, cooling_off, hold"],
    ["text that is no action", "turn it down", "turn it down"],
    ["a command for another device", { device: "sim-2", command: "cooling_on" }, "sim-2"],
    ["a JSON array", [1, 2], "'command'"],
  ])("refuses %s, saying why", (_, body, mentioned) => {
    const parsed = parseCommand(SUBJECT, encode(body));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.device).toBe("sim-1");
      expect(parsed.message).toContain(mentioned);
    }
  });
});
