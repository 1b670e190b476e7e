#!/usr/bin/env node
// The `tide` command. Runs the TypeScript sources directly through tsx's loader,
// so it works right after `npm ci` with no build step.
import { register } from "tsx/esm/api";

/** How long a finished command waits for what it leaves open (sockets, timers) to close by itself. */
const DRAIN_MS = 3000;

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
// The command has done its work and stopped what it started. Normally nothing is left and the process ends now;
// if something still holds the event loop (a handle a component failed to release), say so and end anyway,
// rather than hang a terminal or a supervisor. The timer does not itself keep the process alive.
setTimeout(() => {
  process.stderr.write(`tide: still ${process.getActiveResourcesInfo().join(", ") || "busy"} ${DRAIN_MS / 1000} s after the command ended; exiting\n`);
  process.exit();
}, DRAIN_MS).unref();
