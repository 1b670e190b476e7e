import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../errors.ts";
import { modelLineages } from "./export.ts";
import type { ModelLineage } from "./lineage/model.ts";

const lineage = (version: string): ModelLineage => ({ version, rollouts: [], edges: [], cloudOffloads: 0, decisions: 0, notes: [] });

/** A real pino logger writing JSON lines into memory. */
function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

describe("modelLineages", () => {
  it("keeps every version it could not trace, with the reason, and logs it", async () => {
    const { logger, lines } = memoryLogger();
    const trace = async (version: string) => {
      if (version === "v2") throw new NotFoundError("no model v2: no event on the cloud MODELS names it");
      if (version === "v3") throw new Error("connection closed");
      return lineage(version);
    };
    const { models, errors } = await modelLineages(["v3", "v1", "baseline", "v2", "v1"], trace, logger);
    expect(models.map((m) => m.version)).toEqual(["v1"]);
    expect(errors).toEqual([
      { version: "v2", message: "no model v2: no event on the cloud MODELS names it" },
      { version: "v3", message: "connection closed" },
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.version, l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([
      [40, "v2", "audit export: model lineage could not be traced", "no model v2: no event on the cloud MODELS names it"],
      [40, "v3", "audit export: model lineage could not be traced", "connection closed"],
    ]);
  });

  it("has no errors when every version traces", async () => {
    const { models, errors } = await modelLineages(["v1"], async (v) => lineage(v));
    expect(models).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
