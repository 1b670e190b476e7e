import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import type { Logger } from "../log.ts";
import type { Route } from "../http/server.ts";
import { startNodeMonitor } from "../nodes/node-monitor.ts";
import type { LivenessConfig } from "../nodes/liveness.ts";
import { createScheduler } from "../scheduler/scheduler.ts";
import type { SchedulerConfig } from "../scheduler/types.ts";
import { taskRoutes } from "./task-routes.ts";

/** What the cloud scheduling services run on. */
export interface SchedulingOptions {
  nc: NatsConnection;
  /** The cloud projection database (tasks, nodes) for the read routes. */
  db: Database.Database;
  edges: readonly string[];
  logger: Logger;
  scheduler?: Partial<SchedulerConfig>;
  liveness?: Partial<LivenessConfig>;
}

/**
 * The cloud's scheduling: the node-loss detector, one scheduler replica
 * (several cloud services may run: optimistic concurrency keeps their
 * decisions apart), and the task routes of the cloud HTTP API.
 */
export async function startSchedulingServices(options: SchedulingOptions) {
  const { nc, db, edges, logger } = options;
  const nodeMonitor = startNodeMonitor({ nc, logger, ...(options.liveness ? { config: options.liveness } : {}) });
  const scheduler = createScheduler({ nc, logger, ...(options.scheduler ? { config: options.scheduler } : {}) });
  try {
    await nodeMonitor.start();
    await scheduler.start();
  } catch (error) {
    await scheduler.stop();
    await nodeMonitor.stop();
    throw error;
  }
  const routes: Route[] = taskRoutes({ nc, db, edges });
  return {
    scheduler,
    nodeMonitor,
    routes,
    async stop(): Promise<void> {
      await scheduler.stop();
      await nodeMonitor.stop();
    },
  };
}
/** The running scheduling services: scheduler, node monitor, routes. */
export type SchedulingServices = Awaited<ReturnType<typeof startSchedulingServices>>;
