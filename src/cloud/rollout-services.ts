import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { z } from "zod";
import { NotFoundError } from "../errors.ts";
import { EntityId } from "../ids.ts";
import type { Logger } from "../log.ts";
import { parseBody, type Route } from "../http/server.ts";
import { createRolloutController } from "../rollout/controller.ts";
import { RolloutRequest, requestRollback, requestRollout } from "../rollout/request.ts";
import type { RolloutConfig } from "../rollout/types.ts";
import { recentRollouts, rolloutDetail } from "../../projections/rollouts/queries.ts";
import { edgeModels } from "../../projections/models/queries.ts";

export interface RolloutServicesOptions {
  nc: NatsConnection;
  db: Database.Database;
  edges: readonly string[];
  logger: Logger;
  settings: Omit<RolloutConfig, "edges">;
}

const RollbackBody = z.strictObject({ rolloutId: EntityId.optional(), reason: z.string().min(1).max(500).optional() });

/**
 * The cloud's rollouts: one controller replica (more may run; optimistic
 * concurrency keeps them apart) and the routes `POST /rollouts`,
 * `GET /rollouts` (or `?id=` for one, with stages and edge reports) and
 * `POST /rollouts/rollback`.
 */
export async function startRolloutServices(options: RolloutServicesOptions) {
  const { nc, db, edges, logger, settings } = options;
  const controller = createRolloutController({ nc, logger, config: { ...settings, edges } });
  await controller.start();
  const routes: Route[] = [
    {
      method: "POST",
      path: "/rollouts",
      async handle({ body }) {
        const request = parseBody(RolloutRequest.strict(), body);
        const { rolloutId, seq } = await requestRollout(nc, request, "api");
        return { rolloutId, seq, status: "requested" };
      },
    },
    {
      method: "GET",
      path: "/rollouts",
      handle: ({ url }) => {
        const id = url.searchParams.get("id");
        if (id) {
          const detail = rolloutDetail(db, id);
          if (!detail) throw new NotFoundError(`no rollout ${id}`);
          return detail;
        }
        return { rollouts: recentRollouts(db, Math.min(200, Math.max(1, Number(url.searchParams.get("limit")) || 20))), edges: edgeModels(db) };
      },
    },
    {
      method: "POST",
      path: "/rollouts/rollback",
      async handle({ body }) {
        const { rolloutId, reason } = parseBody(RollbackBody, body);
        return { ...(await requestRollback(nc, { ...(rolloutId ? { rolloutId } : {}), ...(reason ? { reason } : {}), requestedBy: "api" })), status: "rolled_back" };
      },
    },
  ];
  return {
    controller,
    routes,
    stop: () => controller.stop(),
  };
}
export type RolloutServices = Awaited<ReturnType<typeof startRolloutServices>>;
