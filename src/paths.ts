import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project's root directory, for the files Tide reads beside its code
 * (the hub's config, the leaf template, the dashboard page, the default
 * policy, the benchmarks). Resolved from this module, one directory below the
 * root — as is the bundle `bin/tide.js` runs (`dist/tide.mjs`), so the same
 * line is right in both; a path relative to each module would not be.
 */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A path under the project root. */
export const projectPath = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);
