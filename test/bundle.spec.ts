import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildBundle, bundleIsFresh, bundlePaths, freshBundle } from "../scripts/bundle.mjs";
import { tempDir } from "./harness.ts";

const root = tempDir("tide-bundle-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** Import a bundle as a new module (a query makes Node load it again). */
const load = async (bundle: string) => (await import(`${pathToFileURL(bundle).href}?${statSync(bundle).mtimeMs}`)) as { main: () => string };

describe("the bundle bin/tide.js runs (scripts/bundle.mjs)", () => {
  it("is built from the TypeScript sources, and rebuilt when one of them is newer or gone", { timeout: 60_000 }, async () => {
    write("src/cli/main.ts", `import { word } from "../word.ts";\nexport const main = (): string => word;\n`);
    write("src/word.ts", `export const word: string = "first";\n`);
    expect(bundleIsFresh(root)).toBe(false);

    const bundle = await freshBundle(root);
    expect(bundle).toBe(bundlePaths(root).bundle);
    expect((await load(bundle)).main()).toBe("first");
    expect(bundleIsFresh(root)).toBe(true);
    const builtAt = statSync(bundle).mtimeMs;
    expect(await freshBundle(root)).toBe(bundle);
    expect(statSync(bundle).mtimeMs).toBe(builtAt); // fresh: not rebuilt

    // A source saved after the build: stale, and the next start rebuilds it.
    write("src/word.ts", `export const word: string = "second";\n`);
    const earlier = new Date(Date.now() - 5_000);
    utimesSync(bundle, earlier, earlier); // as if built before that save
    expect(bundleIsFresh(root)).toBe(false);
    expect((await load(await freshBundle(root))).main()).toBe("second");
    expect(bundleIsFresh(root)).toBe(true);

    // A source it was built from gone: stale too (the build then says what is missing).
    rmSync(join(root, "src/word.ts"));
    expect(bundleIsFresh(root)).toBe(false);
    await expect(buildBundle(root)).rejects.toThrow(/word\.ts/);
  });

  it("runs the tide command from it, resolving the files beside the code from the project root", { timeout: 60_000 }, () => {
    const run = spawnSync(process.execPath, ["bin/tide.js", "--help"], { encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^tide — /);
    expect(bundleIsFresh()).toBe(true);
  });

  it("run as a command (its #! line), runs Node with a small young generation and a slowly growing old one", { timeout: 60_000 }, () => {
    // A preloaded module reports the flags the process was started with.
    const report = "data:text/javascript,process.stderr.write(JSON.stringify(process.execArgv)+'\\n')";
    const run = spawnSync("bin/tide.js", ["--help"], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: `--import=${report}` } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stderr.split("\n")[0]!)).toEqual(expect.arrayContaining(["--max-semi-space-size=4", "--heap-growing-percent=100"]));
  });
});
