import { devicesProjection } from "./devices/projection.ts";
import type { Projection } from "./engine/projection.ts";
import { sensorStatsProjection } from "./sensor-stats/projection.ts";

export * from "./engine/projection.ts";
export * from "./engine/applier.ts";
export * from "./engine/checkpoints.ts";
export * from "./engine/database.ts";
export * from "./engine/follower.ts";

export const projectionCatalogue: readonly Projection[] = [devicesProjection, sensorStatsProjection];

export function findProjection(name: string): Projection | undefined {
  return projectionCatalogue.find((p) => p.name === name || p.name === name.replace(/-/g, "_"));
}
