import { readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { ConfigError, errorMessage } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { parsePolicyText, type Policy, type PolicyResult } from "./policy.ts";

/** How the policy file is watched. */
export interface WatchPolicyOptions {
  /** Re-read the file this often, in case file events are missed (default 2000 ms; 0 = never). */
  pollMs?: number;
  /** Wait this long after a file event before reading, so a write in progress is read whole (default 100 ms). */
  debounceMs?: number;
}

/** What a reload did: applied a new policy, found nothing new, or rejected the file (the old policy stays). */
export type ReloadOutcome = "applied" | "unchanged" | "rejected";

function readText(path: string): { text: string } | { error: string } {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

/**
 * Load the policy at `path` and keep it current: the file is re-read on file
 * events (the directory is watched, so an editor's write-and-rename is seen)
 * and by polling. A new valid policy is handed to `onChange`; an invalid one is
 * logged with its issues and ignored, and the policy in force stays. The first
 * load must succeed: an edge does not start on a bad policy (ConfigError).
 */
export function watchPolicy(path: string, onChange: (policy: Policy) => void, logger: Logger, options: WatchPolicyOptions = {}) {
  const { pollMs = 2000, debounceMs = 100 } = options;
  const log = logger.child({ component: "policy", path });
  const first = readText(path);
  const initial: PolicyResult =
    "text" in first ? parsePolicyText(first.text, `policy ${path}`) : { success: false, reason: "unreadable", message: `cannot read policy ${path}: ${first.error}`, issues: [] };
  if (!initial.success) throw new ConfigError(initial.message);
  let current = initial.policy;
  let lastSeen = "text" in first ? first.text : "";
  log.info({ rules: [...current.rules.map((r) => r.name), current.default.name] }, "policy loaded");

  function reload(): ReloadOutcome {
    const read = readText(path);
    const text = "text" in read ? read.text : `\u0000unreadable: ${read.error}`;
    if (text === lastSeen) return "unchanged";
    lastSeen = text;
    const result: PolicyResult =
      "text" in read ? parsePolicyText(read.text, `policy ${path}`) : { success: false, reason: "unreadable", message: `cannot read policy ${path}: ${read.error}`, issues: [] };
    if (!result.success) {
      log.error({ reason: result.reason, issues: result.issues }, `${result.message} (rejected; the previous policy stays in force)`);
      return "rejected";
    }
    current = result.policy;
    log.info({ rules: [...current.rules.map((r) => r.name), current.default.name] }, "policy reloaded");
    onChange(current);
    return "applied";
  }

  let debounce: NodeJS.Timeout | undefined;
  const soon = () => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      reload();
    }, debounceMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, filename) => {
      if (filename === null || filename.toString() === basename(path)) soon();
    });
    watcher.on("error", (error) => log.warn({ err: errorMessage(error) }, "policy file watch failed; polling only"));
  } catch (error) {
    log.warn({ err: errorMessage(error) }, "cannot watch the policy file; polling only");
  }
  const poll = pollMs > 0 ? setInterval(reload, pollMs) : undefined;

  return {
    /** The policy in force. */
    current: (): Policy => current,
    /** Re-read the file now. */
    reload,
    close(): void {
      watcher?.close();
      if (debounce) clearTimeout(debounce);
      if (poll) clearInterval(poll);
    },
  };
}
/** The policy in force, kept current from its file. */
export type PolicyWatcher = ReturnType<typeof watchPolicy>;
