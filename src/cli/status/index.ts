import { edgeModelsSection, modelsSection, trainingSection } from "./registry.ts";
import { nodesSection, tasksSection } from "./scheduling.ts";
import { rolloutsSection } from "./rollouts.ts";
import type { StatusSection } from "./section.ts";

export * from "./section.ts";

/** The sections `tide status` prints, in order. Add yours here. */
export const STATUS_SECTIONS: readonly StatusSection[] = [modelsSection, edgeModelsSection, rolloutsSection, trainingSection, nodesSection, tasksSection];
