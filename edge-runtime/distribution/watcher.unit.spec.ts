import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import type { Policy } from "./policy.ts";
import { watchPolicy, type PolicyWatcher } from "./watcher.ts";

const policyJson = (route: string) => JSON.stringify({ version: 1, default: { route } });

function capture() {
  const lines: { level: number; msg: string; issues?: string[] }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, errors: () => lines.filter((l) => l.level >= 50) };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached after ${timeoutMs} ms`);
    await sleep(20);
  }
}

let dir = "";
let watcher: PolicyWatcher | undefined;
afterEach(() => {
  watcher?.close();
  watcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function setup(initial: string) {
  dir = mkdtempSync(join(tmpdir(), "tide-watch-"));
  const path = join(dir, "policy.json");
  writeFileSync(path, initial);
  return path;
}

describe("watchPolicy", () => {
  it("refuses to start on a bad policy, with the issue", () => {
    const path = setup(JSON.stringify({ version: 1, default: { route: "nowhere" } }));
    expect(() => watchPolicy(path, () => undefined, capture().logger)).toThrow(ConfigError);
    expect(() => watchPolicy(path, () => undefined, capture().logger)).toThrow(/default\.route: /);
  });

  it("reloads a changed file by itself, without polling", async () => {
    const path = setup(policyJson("raw"));
    const seen: Policy[] = [];
    watcher = watchPolicy(path, (p) => seen.push(p), capture().logger, { pollMs: 0 });
    expect(watcher.current().default.route).toBe("raw");
    writeFileSync(path, policyJson("local"));
    await until(() => seen.length === 1, "reload");
    expect(watcher.current().default.route).toBe("local");
    expect(seen[0]).toBe(watcher.current());
  });

  it("sees an editor's write-then-rename", async () => {
    const path = setup(policyJson("raw"));
    watcher = watchPolicy(path, () => undefined, capture().logger, { pollMs: 0 });
    writeFileSync(`${path}.tmp`, policyJson("summary"));
    renameSync(`${path}.tmp`, path);
    await until(() => watcher!.current().default.route === "summary", "reload after rename");
  });

  it("rejects a bad file with a logged, clear error and keeps the old policy; then takes a good one", async () => {
    const path = setup(policyJson("raw"));
    const { logger, errors } = capture();
    const seen: Policy[] = [];
    watcher = watchPolicy(path, (p) => seen.push(p), logger, { pollMs: 0 });
    const before = watcher.current();
    writeFileSync(path, JSON.stringify({ version: 1, default: { route: "raw", degrade: { to: "raw" } } }));
    expect(watcher.reload()).toBe("rejected");
    expect(watcher.current()).toBe(before);
    expect(seen).toEqual([]);
    const error = errors().at(-1);
    expect(error?.msg).toMatch(/^policy .*policy\.json is invalid: .*default\.degrade.*\(rejected; the previous policy stays in force\)$/);
    expect(error?.issues?.length).toBeGreaterThan(0);
    expect(watcher.reload()).toBe("unchanged"); // the same bad file is reported once

    writeFileSync(path, "{ not json");
    expect(watcher.reload()).toBe("rejected");
    expect(errors().at(-1)?.msg).toMatch(/is not JSON/);
    writeFileSync(path, policyJson("anomalies"));
    expect(watcher.reload()).toBe("applied");
    expect(watcher.current().default.route).toBe("anomalies");
  });

  it("polls when file events are missed", async () => {
    const path = setup(policyJson("raw"));
    watcher = watchPolicy(path, () => undefined, capture().logger, { pollMs: 50, debounceMs: 60_000 });
    writeFileSync(path, policyJson("local"));
    await until(() => watcher!.current().default.route === "local", "reload by polling");
  });
});
