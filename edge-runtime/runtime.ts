import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../src/errors.ts";
import { edgeDomain, type EdgeId } from "../src/ids.ts";
import { silentLogger, type Logger } from "../src/log.ts";
import { loadModelFromFile, loadModelFromObjectStore } from "./inference/model-source.ts";
import { createInferenceEngine } from "./inference/engine.ts";
import { BASELINE_WINDOW } from "./inference/baseline.ts";
import { selectBackend } from "../src/model/backend.ts";
import { startHeartbeats } from "../src/nodes/heartbeat.ts";
import { startHttpServer } from "../src/http/server.ts";
import { connectTo, type TopologyFile } from "../src/topology/index.ts";
import { applyStreams } from "../streams/apply.ts";
import { followProjections, openProjectionDb, projectionCatalogue } from "../projections/index.ts";
import { startIngest, type RouteReading } from "./ingest/ingest.ts";
import { startPipeline } from "./pipeline/pipeline.ts";
import { openModelCache } from "./rollout/model-cache.ts";
import { createScorecard } from "./rollout/scorecard.ts";
import { startRolloutAgent, type RolloutAgentOptions } from "./rollout/agent.ts";
import { predictRoute } from "./http/predict.ts";
import { createOffloadClient } from "./offload.ts";
import type { CoolingSettings } from "./control/cooling.ts";
import { createDistribution, type Distribution } from "./distribution/distribution.ts";
import { startTaskWorker } from "../src/tasks/worker/executor.ts";
import { createTaskKindRegistry, type TaskKind } from "../src/tasks/kinds/registry.ts";
import { BUILT_IN_KINDS, EDGE_KINDS } from "../src/tasks/kinds/index.ts";
import { createEdgeMetrics } from "../src/metrics/edge-metrics.ts";
import { createRegistry, metricsRoute } from "../src/metrics/registry.ts";
import { startEdgeActivity } from "./activity.ts";
import { modelVerifierFromDir, requireSignature } from "../src/model/signing.ts";
import { projectPath } from "../src/paths.ts";

/** What an edge offers to tasks by default: a share of a small machine whose first job is inference. */
export const DEFAULT_EDGE_TASK_RESOURCES = { cpus: 1, memoryMb: 512 } as const;

export interface EdgeRuntimeOptions {
  topology: TopologyFile;
  edge: EdgeId;
  logger?: Logger;
  /**
   * The edge's distribution policy file (reloaded on change). Without one every
   * reading is forwarded raw; `tide up` and `tide edge` give each edge
   * `<dir>/edge-<id>/policy.json`, created from edge-runtime/policy.default.json.
   */
  policyPath?: string;
  /** Routing for tests and embedders that bring their own (ignored when policyPath is set). */
  route?: RouteReading;
  /** HTTP port for POST /predict (default: the topology's; 0 = any free port). */
  httpPort?: number;
  heartbeatMs?: number;
  cooling?: CoolingSettings;
  /** Joint inference: offload when the anomaly score is at least this (default 4; Infinity disables). */
  offloadAboveScore?: number;
  offloadTimeoutMs?: number;
  /** What the edge offers to scheduled tasks (default DEFAULT_EDGE_TASK_RESOURCES). */
  taskResources?: { cpus: number; memoryMb: number };
  /** Task kinds it runs besides the built-in `batch_inference` and `aggregate`. */
  taskKinds?: readonly TaskKind[];
  /** Checks on a rollout's artifact bytes beyond size and SHA-256 (e.g. its signature); throw to refuse them. */
  verifyArtifact?: RolloutAgentOptions["verifyArtifact"];
  /** Readings ingest holds at most; beyond it a reading is answered `unavailable` (default 2048). */
  ingestMaxPending?: number;
  /** How often the rollout agent checks a pending observation or retries a step (default 250 ms). */
  rolloutPollMs?: number;
}

/** Where a model to activate comes from: a local artifact file, or an Object Store entry. */
export type ModelSource = { file: string } | { bucket: string; name: string; domain?: string };

/** The edge's policy file under the topology dir, created from the default policy on first use. */
export function ensureEdgePolicy(topology: TopologyFile, edge: EdgeId): string {
  const path = join(topology.dir, edgeDomain(edge), "policy.json");
  if (!existsSync(path)) copyFileSync(projectPath("edge-runtime", "policy.default.json"), path);
  return path;
}

/** Where an edge keeps the model artifacts it activated and its rollout state. */
export function edgeModelDir(topology: TopologyFile, edge: EdgeId): string {
  return join(topology.dir, edgeDomain(edge), "models");
}

export function edgeProjectionDbPath(topology: TopologyFile, edge: EdgeId): string {
  return join(topology.dir, edgeDomain(edge), "projections.db");
}

/**
 * `tide edge`: one edge's runtime against its leaf node. Applies the edge
 * streams; ingest → READINGS (or DLQ); local projections on the edge's own
 * SQLite file; the inference pipeline (reading → inference → decision →
 * command); heartbeats; POST /predict; joint inference with the cloud.
 */
export async function startEdgeRuntime(options: EdgeRuntimeOptions) {
  const { topology, edge, logger = silentLogger, route, heartbeatMs = 5000, cooling, offloadAboveScore = 4, offloadTimeoutMs = 100 } = options;
  const entry = topology.edges.find((e) => e.id === edge);
  if (!entry) throw new ConfigError(`no edge '${edge}' in ${topology.dir}/topology.json`);
  const log = logger.child({ edge });
  const domain = edgeDomain(edge);
  const nc = await connectTo(topology, edge, { name: `tide-edge-${edge}` });
  const stops: (() => Promise<void> | void)[] = [async () => void (await nc.drain().catch(() => undefined))];
  const stop = async () => {
    for (const s of [...stops].reverse()) await s();
    stops.length = 0;
  };
  try {
    await applyStreams({ nc, place: "edge", domain, context: { edge, edges: topology.edges.map((e) => e.id) }, logger: log });
    const { tf, backend } = await selectBackend({ logger: log });
    const engine = createInferenceEngine({ tf, logger: log });
    stops.push(() => engine.close());

    let routeReading = route;
    let distribution: Distribution | undefined;
    if (options.policyPath) {
      distribution = createDistribution({ nc, edge, policyPath: options.policyPath, logger: log });
      await distribution.start();
      // Pushed before ingest: stops run in reverse, so ingest stops first and the last readings are summarised.
      stops.push(() => distribution!.stop());
      routeReading = distribution.route;
    }
    const ingest = startIngest({ nc, edge, logger: log, ...(routeReading ? { route: routeReading } : {}), ...(options.ingestMaxPending ? { maxPending: options.ingestMaxPending } : {}) });
    stops.push(() => ingest.stop());
    const metrics = createEdgeMetrics(createRegistry({ place: domain }, { logger: log }));
    const activity = startEdgeActivity({ nc, edge, logger: log, onPrediction: metrics.observePrediction });
    stops.push(() => activity.stop());

    const db = openProjectionDb(edgeProjectionDbPath(topology, edge));
    stops.push(() => void db.close());
    const projections = followProjections({ nc, db, projections: projectionCatalogue, place: "edge", edge, domain, logger: log });
    stops.push(() => projections.stop());

    // Every prediction is scored against the device's next reading, per model version: a rollout's canary evidence.
    const scorecard = createScorecard();
    // Rollouts: restores the last active model from the local copy (offline too, before the first reading is
    // predicted), then follows the cloud ROLLOUTS.
    const signatures = modelVerifierFromDir(topology.dir);
    const rollout = startRolloutAgent({
      nc,
      edge,
      tf,
      engine,
      cache: openModelCache(edgeModelDir(topology, edge)),
      scorecard,
      logger: log,
      // Only models the cloud signed: an unsigned or wrongly signed artifact is refused (model.activation_failed).
      verifyArtifact: (artifact, bytes, version) => {
        requireSignature(signatures, artifact, version);
        options.verifyArtifact?.(artifact, bytes, version);
      },
      ...(options.rolloutPollMs ? { pollMs: options.rolloutPollMs } : {}),
    });
    await rollout.start();
    stops.push(() => rollout.stop());

    const pipeline = await startPipeline({
      nc,
      edge,
      observe: scorecard.observe,
      predictor: activity.observe(engine),
      // Enough for the baseline's trend and anomaly score, and for the active model (W + 1) — read per reading, as models are swapped.
      window: () => Math.max(BASELINE_WINDOW + 1, engine.requiredWindow()),
      logger: log,
      ...(cooling ? { cooling } : {}),
      ...(Number.isFinite(offloadAboveScore) ? { offloadAboveScore, offload: createOffloadClient(nc, edge, offloadTimeoutMs, log) } : {}),
    });
    stops.push(() => pipeline.stop());

    // The task worker runs what the scheduler assigns to this edge, on data where it lies. It follows the
    // cloud TASKS across the leaf link: not awaited, so an edge starts (and keeps working) while the link is down.
    const taskResources = options.taskResources ?? DEFAULT_EDGE_TASK_RESOURCES;
    const registry = createTaskKindRegistry([...BUILT_IN_KINDS.filter((k) => (EDGE_KINDS as readonly string[]).includes(k.kind)), ...(options.taskKinds ?? [])]);
    const tasks = startTaskWorker({ nc, node: domain, registry, cpus: taskResources.cpus, predictor: engine, logger: log });
    void tasks.start().catch((error: unknown) => log.warn({ err: (error as Error).message }, "task worker did not start"));
    stops.push(() => tasks.stop());

    const heartbeats = startHeartbeats({
      nc,
      node: domain,
      kind: "edge",
      edge,
      kinds: tasks.kinds(),
      resources: taskResources,
      intervalMs: heartbeatMs,
      logger: log,
      status: () => {
        const link = distribution?.link();
        const rttMs = link?.rttMs;
        const [p50, p99] = [pipeline.latency.quantile(0.5), pipeline.latency.quantile(0.99)];
        const report = activity.report({
          readings: ingest.stats.accepted,
          rejected: ingest.stats.rejected,
          ...(p50 === undefined ? {} : { decisionP50Ms: p50 }),
          ...(p99 === undefined ? {} : { decisionP99Ms: p99 }),
          ...(link ? { uplink: { connected: link.connected, backlog: link.backlog, ...(rttMs === undefined ? {} : { rttMs }) } } : {}),
        });
        return { queueDepth: pipeline.queueDepth() + engine.queueDepth() + tasks.queueDepth(), modelVersion: engine.activeVersion(), backend, ...(rttMs === undefined ? {} : { rttMs }), activity: report };
      },
    });
    stops.push(() => heartbeats.stop());

    metrics.bind({
      nc,
      domain,
      ingest,
      pipeline,
      activity,
      model: () => ({ version: engine.activeVersion(), backend }),
      ...(distribution ? { link: () => distribution!.link() } : {}),
      taskQueueDepth: () => tasks.queueDepth(),
    });

    const httpPort = options.httpPort ?? Number(new URL(entry.httpUrl).port);
    const http = await startHttpServer({
      port: httpPort,
      logger: log,
      routes: [predictRoute(engine), metricsRoute(metrics.registry), { method: "GET", path: "/healthz", handle: () => ({ ok: true, edge, backend, model: engine.activeVersion() }) }],
    });
    stops.push(() => http.close());
    log.info({ backend, http: http.url }, "edge runtime up");

    return {
      edge,
      nc,
      db,
      ingest,
      pipeline,
      engine,
      tasks,
      rollout,
      scorecard,
      distribution,
      activity,
      metrics,
      backend,
      httpUrl: http.url,
      /** Load, verify and hot-swap a model in (the rollout issue calls this). */
      async activateModel(source: ModelSource, expected?: { sha256?: string; size?: number; version?: string }) {
        const loaded =
          "file" in source
            ? await loadModelFromFile(tf, source.file, expected)
            : await loadModelFromObjectStore(tf, nc.jetstream(source.domain ? { domain: source.domain } : {}), source.bucket, source.name, expected);
        let activated: { version: string; previousVersion: string };
        try {
          activated = engine.activate(loaded);
        } catch (error) {
          loaded.model.dispose();
          throw error;
        }
        await rollout.reportLocalActivation({ ...activated, sha256: loaded.sha256 });
        return activated;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
export type EdgeRuntime = Awaited<ReturnType<typeof startEdgeRuntime>>;
