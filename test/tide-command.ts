import { readFileSync } from "node:fs";
import { projectPath } from "../src/paths.ts";

/** bin/tide.js: the `tide` command. */
export const TIDE = projectPath("bin", "tide.js");

/**
 * The Node flags of bin/tide.js's `#!/usr/bin/env -S node ...` line: what
 * `tide` runs with when run as a command. A process started as
 * `node ...TIDE_NODE_FLAGS bin/tide.js` runs as a user's `tide` does.
 */
export const TIDE_NODE_FLAGS: readonly string[] =
  /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(TIDE, "utf8"))?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
