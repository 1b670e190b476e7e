export * from "./types.ts";
export { evolve, initialState } from "./evolve.ts";
export { decide, autoRolloutId } from "./decide.ts";
export { judge } from "./criteria.ts";
export { planRollout } from "./plan.ts";
export { createRolloutController, type RolloutController, type RolloutControllerOptions } from "./controller.ts";
export { requestRollout, requestRollback, readRolloutState, newRolloutId, RolloutRequest } from "./request.ts";
export { decideRollback, newestPlanned, retryOnConflict, type RollbackCommand, type RollbackDecision, type RollbackResult } from "./rollback.ts";
export { RolloutSettings, parseRolloutSettings, loadRolloutSettings, rolloutSettingsPath, type RolloutSettingsInput } from "./config.ts";
