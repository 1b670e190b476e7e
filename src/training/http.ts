import type Database from "better-sqlite3";
import type { JetStreamClient } from "nats";
import { z } from "zod";
import { isoTime } from "../events/define.ts";
import { parseBody, type Route } from "../http/server.ts";
import { edgeModels, listModels, productionModel } from "../../projections/models/queries.ts";
import { recentRuns } from "../../projections/training-runs/queries.ts";
import { requestTraining } from "./run-events.ts";

/** `POST /train`: every field optional; an empty object trains on the newest readings. */
export const TrainRequestBody = z
  .strictObject({
    /** ISO 8601 with offset: cloud READINGS stored at or after this time. */
    since: isoTime().optional(),
    until: isoTime().optional(),
    /** Publish even if the candidate does not beat production and persistence. */
    force: z.boolean().optional(),
    epochs: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((b) => b.since === undefined || b.until === undefined || Date.parse(b.since) <= Date.parse(b.until), { message: "since is after until", path: ["since"] });
export type TrainRequestBody = z.infer<typeof TrainRequestBody>;

/** `GET /training/runs?limit=N`: 1-200, default 20; anything else is a 400, not silently the default. */
const RunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

/** What the routes need: a client for appends and the cloud projection database. */
export interface TrainingRouteDeps {
  js: JetStreamClient;
  /** The cloud projection database (registry and runs). */
  db: Database.Database;
}

/**
 * The cloud API's training and registry routes: `POST /train` (a
 * `training.requested` with reason `api`; bad input gets 400 with the zod
 * issues), `GET /models` (the registry) and `GET /training/runs`.
 */
export function trainingRoutes(deps: TrainingRouteDeps): Route[] {
  const { js, db } = deps;
  return [
    {
      method: "POST",
      path: "/train",
      async handle({ body }) {
        const request = parseBody(TrainRequestBody, body);
        const { runId, seq } = await requestTraining(js, { reason: "api", detail: "POST /train", ...request }, "tide://cloud/api");
        return { runId, seq, status: "requested" };
      },
    },
    {
      method: "GET",
      path: "/models",
      handle: () => ({ production: productionModel(db)?.version ?? null, models: listModels(db), edges: edgeModels(db) }),
    },
    {
      method: "GET",
      path: "/training/runs",
      handle: ({ url }) => ({ runs: recentRuns(db, parseBody(RunsQuery, Object.fromEntries(url.searchParams)).limit) }),
    },
  ];
}
