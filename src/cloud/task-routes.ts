import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { ValidationError } from "../errors.ts";
import { HttpError, type Route } from "../http/server.ts";
import { readTaskHistory } from "../tasks/history.ts";
import { submitTask } from "../tasks/submit.ts";
import { taskDelays, utilisation } from "../../projections/tasks/queries.ts";

/** What the task routes read from and append to. */
export interface TaskRoutesOptions {
  nc: NatsConnection;
  /** The cloud projection database (tasks, nodes). */
  db: Database.Database;
  edges: readonly string[];
}

/**
 * The cloud API for tasks:
 * - `POST /tasks`: submit (the body is a TaskRequest); 400 with the issues when it is bad;
 * - `GET /tasks?id=ID`: one task's story from its events; without `id`, the
 *   newest tasks with their T_delay breakdown;
 * - `GET /utilisation?window=SECONDS`: U_resource per node (default the last 5 minutes).
 */
export function taskRoutes(options: TaskRoutesOptions): Route[] {
  const { nc, db, edges } = options;
  return [
    {
      method: "POST",
      path: "/tasks",
      async handle({ body }) {
        try {
          const { taskId, seq, spec, duplicate } = await submitTask(body, { nc, edges, source: "tide://cloud/http" });
          return { taskId, seq, duplicate, task: spec };
        } catch (error) {
          if (error instanceof ValidationError) throw new HttpError(400, "invalid task", [...error.issues]);
          throw error;
        }
      },
    },
    {
      method: "GET",
      path: "/tasks",
      async handle({ url }) {
        const id = url.searchParams.get("id");
        if (id !== null) return readTaskHistory(nc, id);
        const limit = Number(url.searchParams.get("limit") ?? 20);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, "limit must be a whole number from 1 to 1000");
        return { tasks: taskDelays(db, { limit }) };
      },
    },
    {
      method: "GET",
      path: "/utilisation",
      handle({ url }) {
        const window = Number(url.searchParams.get("window") ?? 300);
        if (!Number.isFinite(window) || window <= 0) throw new HttpError(400, "window must be a positive number of seconds");
        return { windowSeconds: window, nodes: utilisation(db, { windowMs: window * 1000 }) };
      },
    },
  ];
}
