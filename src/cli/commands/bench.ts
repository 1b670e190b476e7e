import { spawnSync } from "node:child_process";
import { projectPath } from "../../paths.ts";

/** Run bench/run.ts in a process of its own, so its measurements are not shared with the CLI's. */
export async function benchCommand(argv: string[]): Promise<number> {
  const script = projectPath("bench", "run.ts");
  const result = spawnSync(process.execPath, ["--import", "tsx", script, ...argv], { stdio: "inherit" });
  return result.status ?? 1;
}
