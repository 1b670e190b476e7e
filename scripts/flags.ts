import { parseArgs, type ParseArgsConfig } from "node:util";

/** `parseArgs` for a script: an unknown flag or a missing value ends it with exit 2 and one line saying so (no stack). */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}
