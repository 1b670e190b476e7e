/** What the evaluation gate compares, all on the run's held-out test split (°C MAE). */
export interface GateInput {
  candidateMae: number;
  persistenceMae: number;
  /** The production model's MAE on the same test targets; absent when there is no production model yet. */
  production?: { version: string; mae: number };
  /** Publish whatever the comparison says. */
  force: boolean;
}

/** The gate's decision and its reason (it goes into `model.evaluated`). */
export interface GateVerdict {
  accepted: boolean;
  /** For people: the comparison in one sentence. */
  reason: string;
}

const f = (mae: number) => `${mae.toFixed(4)} °C`;

/**
 * The evaluation gate: a candidate is published only if its error is lower
 * than the persistence baseline's and lower than the production model's
 * (strictly: a tie keeps the model the edges already run), or when forced.
 */
export function decideGate(input: GateInput): GateVerdict {
  const { candidateMae, persistenceMae, production, force } = input;
  const beatsPersistence = candidateMae < persistenceMae;
  const beatsProduction = production === undefined || candidateMae < production.mae;
  const comparison = [
    `candidate ${f(candidateMae)}`,
    `persistence ${f(persistenceMae)}`,
    production ? `production ${production.version} ${f(production.mae)}` : "no production model",
  ].join(", ");
  if (beatsPersistence && beatsProduction) return { accepted: true, reason: `better: ${comparison}` };
  const misses = [!beatsPersistence ? "persistence" : undefined, !beatsProduction ? `production ${production!.version}` : undefined].filter(Boolean).join(" and ");
  if (force) return { accepted: true, reason: `forced: not better than ${misses} (${comparison})` };
  return { accepted: false, reason: `rejected: not better than ${misses} (${comparison})` };
}
