import { join } from "node:path";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { selectBackend } from "../model/backend.ts";
import { loadOrCreateModelSigner } from "../model/signing.ts";
import { cloudReplicas, connectTo, type TopologyFile } from "../topology/index.ts";
import { applyStreams } from "../../streams/apply.ts";
import { followProjections, openProjectionDb, projectionCatalogue } from "../../projections/index.ts";
import { createInferenceEngine } from "../../edge-runtime/inference/engine.ts";
import { startOffloadResponder } from "./offload-responder.ts";
import { startHttpServer } from "../http/server.ts";
import { loadTrainingConfig, parseTrainingConfig, type TrainingConfigInput } from "../training/config.ts";
import { startTrainingServices, type TrainingServices } from "./training-services.ts";
import { startSchedulingServices, type SchedulingServices } from "./scheduling-services.ts";
import type { SchedulerConfig } from "../scheduler/types.ts";
import { loadRolloutSettings, parseRolloutSettings, type RolloutSettingsInput } from "../rollout/config.ts";
import { startRolloutServices, type RolloutServices } from "./rollout-services.ts";
import { createCloudMetrics } from "../metrics/cloud-metrics.ts";
import { createRegistry, metricsRoute } from "../metrics/registry.ts";
import { dashboardRoutes } from "../dashboard/routes.ts";

export function cloudProjectionDbPath(topology: TopologyFile): string {
  return join(topology.dir, "hub", "projections.db");
}

export interface CloudServicesOptions {
  topology: TopologyFile;
  logger?: Logger;
  /** Trainer settings; default `<dir>/training.json`, else the defaults. */
  training?: TrainingConfigInput;
  /** Port of the cloud HTTP API (default: the topology's `hub.httpUrl`; 0 = any free port). */
  httpPort?: number;
  /** Scheduler tunables (default DEFAULT_SCHEDULER_CONFIG). */
  scheduler?: Partial<SchedulerConfig>;
  /** Rollout settings (auto policy, canaries, criteria); default `<dir>/rollout.json`, else no automatic rollouts. */
  rollout?: RolloutSettingsInput;
}

/**
 * `tide cloud`: the cloud services against the hub. Cloud streams applied
 * (READINGS sourcing every edge), the fleet-wide projections (model registry
 * included), the joint-inference responder on the production model, the
 * trainer with its triggers, the scheduler and node-loss detector, and the
 * cloud HTTP API (`POST /train`, `GET /models`, `POST /tasks`, `GET /tasks`, `GET /utilisation`).
 */
export async function startCloudServices(options: CloudServicesOptions) {
  const { topology, logger = silentLogger } = options;
  const trainingConfig = options.training ? parseTrainingConfig(options.training) : loadTrainingConfig(topology.dir);
  const log = logger.child({ place: "cloud" });
  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: "tide-cloud" });
  await applyStreams({ nc, place: "cloud", domain: CLOUD_DOMAIN, context: { edges: topology.edges.map((e) => e.id), replicas: cloudReplicas(topology) }, logger: log });
  const db = openProjectionDb(cloudProjectionDbPath(topology));
  const projections = followProjections({ nc, db, projections: projectionCatalogue, place: "cloud", domain: CLOUD_DOMAIN, logger: log });
  const selection = await selectBackend({ logger: log });
  const engine = createInferenceEngine({ tf: selection.tf, logger: log });
  const offload = startOffloadResponder(nc, engine, log);
  let training: TrainingServices | undefined;
  let scheduling: SchedulingServices | undefined;
  let rollouts: RolloutServices | undefined;
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  const dashboard = dashboardRoutes({ db, logger: log });
  try {
    training = await startTrainingServices({ nc, db, selection, engine, config: trainingConfig, logger: log, signer: loadOrCreateModelSigner(topology.dir) });
    scheduling = await startSchedulingServices({ nc, db, edges: topology.edges.map((e) => e.id), logger: log, ...(options.scheduler ? { scheduler: options.scheduler } : {}) });
    const rolloutSettings = options.rollout ? parseRolloutSettings(options.rollout) : loadRolloutSettings(topology.dir);
    rollouts = await startRolloutServices({ nc, db, edges: topology.edges.map((e) => e.id), logger: log, settings: rolloutSettings });
    http = await startHttpServer({
      port: options.httpPort ?? Number(new URL(topology.hub.httpUrl).port),
      logger: log,
      routes: [...training.routes, ...scheduling.routes, ...rollouts.routes, ...dashboard.routes, metricsRoute(createCloudMetrics(createRegistry({ place: "cloud" }, { processMetrics: true, logger: log }), { nc, db }).registry), { method: "GET", path: "/healthz", handle: () => ({ ok: true, backend: selection.backend, model: engine.activeVersion() }) }],
    });
  } catch (error) {
    // e.g. the HTTP port is taken: stop what already runs, so the process can exit with the error.
    await rollouts?.stop();
    await scheduling?.stop();
    await training?.stop();
    await offload.stop();
    await engine.close();
    await projections.stop();
    db.close();
    await nc.close().catch(() => undefined);
    throw error;
  }
  return {
    nc,
    db,
    engine,
    offload,
    training,
    scheduling,
    rollouts,
    httpUrl: http.url,
    async stop(): Promise<void> {
      dashboard.close();
      await http.close();
      await rollouts.stop();
      await scheduling.stop();
      await training.stop();
      await offload.stop();
      await engine.close();
      await projections.stop();
      db.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
export type CloudServices = Awaited<ReturnType<typeof startCloudServices>>;
