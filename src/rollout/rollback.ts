import { ConcurrencyError } from "../errors.ts";
import type { EventData } from "../events/catalogue.ts";
import { rolledBack } from "./decide.ts";
import type { Rollout, RolloutState } from "./types.ts";

/** What a manual rollback asks for. */
export interface RollbackCommand {
  /** The rollout to roll back (default: the newest planned one). */
  rolloutId?: string;
  reason?: string;
  requestedBy: string;
}

/** What a manual rollback did. */
export interface RollbackResult {
  rolloutId: string;
  version: string;
  toVersion?: string;
}

/** The `rolled_back` to append on the rollout's subject expecting `expectedSeq`, or why not: `NOT_FOUND` (no such rollout) or `REFUSED`. */
export type RollbackDecision =
  | { success: true; rolloutId: string; expectedSeq: number; event: { type: "tide.rollout.rolled_back.v1"; data: EventData<"tide.rollout.rolled_back.v1"> }; result: RollbackResult }
  | { success: false; reason: "NOT_FOUND" | "REFUSED"; message: string };

/** The newest rollout that was planned: the one every edge it reached follows. */
export function newestPlanned(state: RolloutState): Rollout | undefined {
  for (let i = state.order.length - 1; i >= 0; i--) {
    const r = state.rollouts.get(state.order[i]!)!;
    if (r.plan) return r;
  }
  return undefined;
}

const refused = (message: string): RollbackDecision => ({ success: false, reason: "REFUSED", message });

/**
 * Pure: the manual rollback a command calls for. Only the newest planned
 * rollout can be rolled back, because each edge's agent acts only on the
 * newest rollout that reached it: rolling back an older one would revert the
 * edges the newer one never reached and leave the others on the newer
 * version, a split fleet. To return to an older version, roll it out.
 */
export function decideRollback(state: RolloutState, command: RollbackCommand): RollbackDecision {
  const newest = newestPlanned(state);
  const r = command.rolloutId ? state.rollouts.get(command.rolloutId) : newest;
  if (!r) return { success: false, reason: "NOT_FOUND", message: command.rolloutId ? `no rollout ${command.rolloutId}` : "no rollout to roll back (none was planned yet)" };
  switch (r.status) {
    case "requested":
      return refused(`rollout ${r.rolloutId} is not planned yet: nothing to roll back`);
    case "rejected":
      return refused(`rollout ${r.rolloutId} was rejected: nothing to roll back`);
    case "rolled_back":
      return refused(
        `rollout ${r.rolloutId} (${r.version}) is already rolled back (${r.outcome?.reason ?? "no reason given"})${command.rolloutId ? "" : "; older rollouts are superseded by it: to return to an older version, roll it out (tide rollout VERSION)"}`,
      );
    case "planned":
    case "running":
    case "completed":
      break;
    default: {
      const unreachable: never = r.status;
      return unreachable;
    }
  }
  if (newest && newest !== r) {
    const instead = newest.status === "rolled_back" ? "roll out the version you want" : `roll back ${newest.rolloutId}, or roll out the version you want`;
    return refused(
      `rollout ${r.rolloutId} (${r.version}) is superseded by ${newest.rolloutId} (${newest.version}, ${newest.status}): edges follow the newest rollout that reached them, so rolling back ${r.rolloutId} would split the fleet; ${instead} (tide rollout VERSION)`,
    );
  }
  const toVersion = r.plan?.previousVersion;
  const result: RollbackResult = { rolloutId: r.rolloutId, version: r.version, ...(toVersion ? { toVersion } : {}) };
  const decision = rolledBack(r, command.reason ?? `manual rollback by ${command.requestedBy}`, {
    trigger: "manual",
    ...(r.stage >= 0 ? { stage: r.stage } : {}),
    requestedBy: command.requestedBy,
  });
  return { success: true, ...decision, result };
}

/**
 * Runs `attempt` (read, decide, append) again while it loses an optimistic
 * concurrency race, at most `attempts` times in all; the last loss is thrown.
 * Each run must re-read: the retry decides on the state that beat it.
 */
export async function retryOnConflict<T>(attempts: number, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || n >= attempts) throw error;
    }
  }
}
