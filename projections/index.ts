import { devicesProjection } from "./devices/projection.ts";
import type { Projection } from "./engine/projection.ts";
import { modelsProjection } from "./models/projection.ts";
import { nodesProjection } from "./nodes/projection.ts";
import { nodeModelsProjection } from "./node-models/projection.ts";
import { recentReadingsProjection } from "./recent-readings/projection.ts";
import { sensorStatsProjection } from "./sensor-stats/projection.ts";
import { tasksProjection } from "./tasks/projection.ts";
import { trainingRunsProjection } from "./training-runs/projection.ts";
import { trainingEpochsProjection } from "./training-epochs/projection.ts";
import { edgeActivityProjection } from "./edge-activity/projection.ts";
import { taskPlacementsProjection } from "./task-placements/projection.ts";
import { rolloutsProjection } from "./rollouts/projection.ts";
import { rolloutReportsProjection } from "./rollouts/reports.ts";

export * from "./engine/projection.ts";
export * from "./engine/applier.ts";
export * from "./engine/checkpoints.ts";
export * from "./engine/database.ts";
export * from "./engine/follower.ts";

export const projectionCatalogue: readonly Projection[] = [
  devicesProjection,
  sensorStatsProjection,
  // Cloud only (the model registry and what training needs):
  modelsProjection,
  trainingRunsProjection,
  nodeModelsProjection,
  recentReadingsProjection,
  // Cloud only (scheduling: tasks, nodes, utilisation):
  tasksProjection,
  nodesProjection,
  // Cloud only (the dashboard: loss curves, what edges report they did):
  trainingEpochsProjection,
  edgeActivityProjection,
  taskPlacementsProjection,
  // Cloud only (rollouts and what edges reported about them):
  rolloutsProjection,
  rolloutReportsProjection,
];

export function findProjection(name: string): Projection | undefined {
  return projectionCatalogue.find((p) => p.name === name || p.name === name.replace(/-/g, "_"));
}
