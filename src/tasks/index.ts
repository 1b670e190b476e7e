/**
 * Tasks: the public TypeScript API. Submit tasks, register kinds with their
 * handlers, and run workers; the scheduler (src/scheduler/) places them.
 */
export { submitTask, newTaskId, type SubmitOptions, type SubmittedTask } from "./submit.ts";
export { TaskRequest, TASK_DEFAULTS } from "./request.ts";
export { createTaskKindRegistry, loadKindsModule, KIND_NAME, BUILT_IN_KINDS, EDGE_KINDS, builtInKind, type TaskKind, type TaskKindRegistry, type TaskContext, type Predictor } from "./kinds/index.ts";
export { readTaskHistory, waitForTask, type TaskHistory } from "./history.ts";
export { startTaskWorker, type TaskWorker, type TaskWorkerOptions } from "./worker/executor.ts";
export { startCloudWorker, type CloudWorker, type CloudWorkerOptions } from "./worker/cloud-worker.ts";
