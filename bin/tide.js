#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=100
// (The flags: a young generation of at most 3 × 4 MiB instead of 3 × 16, and an
// old generation allowed to grow to twice what the last full collection left
// instead of up to four times. The edge runtime then peaks at ~165 MiB under
// overload instead of ~300, for more, quicker collections; see BENCHMARKS.md,
// rss.edge-runtime.mb. `node bin/tide.js` runs without them: give them to node.)
// The `tide` command. Runs Tide's TypeScript sources as one bundle of plain
// JavaScript (dist/tide.mjs, see scripts/bundle.mjs): `npm ci` builds it, and it
// is rebuilt here (about a second) when a source it was built from changed, so
// there is no separate build step. Without esbuild it falls back to tsx's loader.
import { freshBundle } from "../scripts/bundle.mjs";

let main;
try {
  ({ main } = await import(await freshBundle()));
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("esbuild")) throw error;
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
