import { setMaxListeners } from "node:events";
import type Database from "better-sqlite3";
import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../../src/errors.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import { createApplier, type Applier } from "./applier.ts";
import { runsOn, type Projection, type ProjectionPlace } from "./projection.ts";

export interface FollowOptions {
  nc: NatsConnection;
  db: Database.Database;
  projections: readonly Projection[];
  place: ProjectionPlace;
  edge?: string;
  domain: string;
  logger?: Logger;
  batchSize?: number;
}

/** Keep projections up to date with their streams until stopped; a failed read is retried with backoff. */
export function followProjections(options: FollowOptions) {
  const { projections, logger = silentLogger, ...rest } = options;
  const controller = new AbortController();
  // The catalogue is shared by edges and the cloud: each place follows only the projections that run on it.
  const appliers: Applier[] = projections.filter((p) => runsOn(p, rest.place)).map((projection) => createApplier({ ...rest, projection, logger }));
  // One listener per follow read on the shared signal: as many as there are projections, not a leak.
  setMaxListeners(Math.max(10, appliers.length + 2), controller.signal);
  const loops = appliers.map(async (applier) => {
    for (let attempt = 0; !controller.signal.aborted; attempt++) {
      try {
        await applier.run({ follow: true, signal: controller.signal });
      } catch (error) {
        if (controller.signal.aborted) break;
        logger.warn({ projection: applier.projection.name, err: errorMessage(error) }, "projection read failed; retrying");
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5))).catch(() => undefined);
      }
    }
  });
  return {
    appliers,
    async stop(): Promise<void> {
      controller.abort();
      await Promise.all(loops);
    },
  };
}
