import type { NatsConnection } from "nats";
import { setTimeout as sleep } from "node:timers/promises";
import { NotFoundError, ValidationError, errorMessage } from "../../src/errors.ts";
import { createEvent } from "../../src/events/envelope.ts";
import type { EventData } from "../../src/events/catalogue.ts";
import { subjects } from "../../src/events/subjects.ts";
import { CLOUD_DOMAIN, edgeDomain, type EdgeId } from "../../src/ids.ts";
import { silentLogger, type Logger } from "../../src/log.ts";
import type { LoadedModel } from "../../src/model/artifact.ts";
import type { Tf } from "../../src/model/backend.ts";
import { evolve, initialState } from "../../src/rollout/evolve.ts";
import type { Rollout, RolloutState } from "../../src/rollout/types.ts";
import { appendToStream } from "../../src/store/append-to-stream.ts";
import { startControlFeed, type ControlFeed } from "../../src/store/control-feed.ts";
import { BASELINE_VERSION } from "../inference/baseline.ts";
import type { InferenceEngine } from "../inference/engine.ts";
import { ActivationError } from "../inference/model-slots.ts";
import { loadModelFromBytes, readObjectStoreArtifact } from "../inference/model-source.ts";
import type { CachedModel, ModelCache } from "./model-cache.ts";
import type { Scorecard } from "./scorecard.ts";
import { swapIn } from "./swap-in.ts";

export interface RolloutAgentOptions {
  nc: NatsConnection;
  edge: EdgeId;
  tf: Tf;
  engine: InferenceEngine;
  cache: ModelCache;
  scorecard: Scorecard;
  logger?: Logger;
  /** How often a pending observation is checked, and a transient failure retried (default 250 ms). */
  pollMs?: number;
  /** Extra checks on verified artifact bytes before they are loaded (e.g. a signature); throw to refuse them. */
  verifyArtifact?: (artifact: EventData<"tide.rollout.planned.v1">["artifact"], bytes: Uint8Array, version: string) => void;
}

/** Failures no retry can fix: reported as `model.activation_failed`. Anything else (the link is down ...) is retried. */
function isPermanent(error: unknown): boolean {
  return error instanceof ValidationError || error instanceof ActivationError || error instanceof NotFoundError;
}

/** The stage of `r` that includes `edge`, if it has started. */
function startedStageFor(r: Rollout, edge: string): number | undefined {
  const index = r.plan?.stages.findIndex((s) => s.edges.includes(edge)) ?? -1;
  return index >= 0 && r.stage >= index ? index : undefined;
}

/**
 * The edge's half of a rollout. It follows the cloud ROLLOUTS across the leaf
 * link (from the start, so an edge that was offline catches up by itself) and
 * reconciles: the newest rollout whose stage has reached this edge says which
 * version it should run. It fetches the artifact from the cloud Object Store
 * (or its local copy), verifies size and SHA-256, keeps a copy, hot-swaps it
 * in, and reports `model.activated` / `model.activation_failed`, then
 * observes the new model against the previous one and reports
 * `model.observed`. When a rollout it activated is rolled back, it returns to
 * the version it ran before. Reports go to the edge's REPORTS stream, which
 * the cloud sources: nothing is lost while the link is down.
 */
export function startRolloutAgent(options: RolloutAgentOptions) {
  const { nc, edge, tf, engine, cache, scorecard, logger = silentLogger, pollMs = 250, verifyArtifact } = options;
  const log = logger.child({ component: "rollout-agent" });
  const edgeJs = nc.jetstream({ domain: edgeDomain(edge) });
  const cloudJs = nc.jetstream({ domain: CLOUD_DOMAIN });
  const source = `tide://${edgeDomain(edge)}/rollout-agent`;
  const controller = new AbortController();
  let state: RolloutState = initialState();
  let feed: ControlFeed | undefined;
  let ready = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  /** The observation under way: which rollout, since when. */
  let observing: { rolloutId: string; version: string; previous: string; since: number } | undefined;

  async function report(event: Parameters<typeof createEvent>[0]): Promise<void> {
    await appendToStream(edgeJs, subjects.report(edge), createEvent(event, { source }));
  }

  async function artifactBytes(r: Rollout, model: CachedModel): Promise<Uint8Array> {
    const artifact = r.plan!.artifact;
    const cached = cache.read(model);
    if (cached) return cached;
    return readObjectStoreArtifact(cloudJs, artifact.bucket, artifact.name);
  }

  async function loadVerified(r: Rollout, model: CachedModel, bytes: Uint8Array): Promise<LoadedModel> {
    const artifact = r.plan!.artifact;
    verifyArtifact?.(artifact, bytes, r.version);
    return loadModelFromBytes(tf, `${artifact.bucket}/${artifact.name}`, bytes, { sha256: model.sha256, size: model.size, version: model.version });
  }

  async function activate(r: Rollout): Promise<void> {
    const artifact = r.plan!.artifact;
    const model: CachedModel = { version: r.version, sha256: artifact.sha256, size: artifact.size, rolloutId: r.rolloutId };
    const before = cache.state().active;
    const previousVersion = engine.activeVersion();
    try {
      const bytes = await artifactBytes(r, model);
      // A failed warm-up (or copy) disposes the loaded model: it is ours until the engine takes it.
      swapIn(engine, await loadVerified(r, model, bytes), () => cache.store(model, bytes));
    } catch (error) {
      if (!isPermanent(error)) throw error;
      const reason = errorMessage(error);
      log.warn({ rollout: r.rolloutId, version: r.version, reason }, "model activation failed; the current model keeps serving");
      await report({ type: "tide.model.activation_failed.v1", data: { edge, version: r.version, reason, rolloutId: r.rolloutId } });
      cache.record(r.rolloutId, "failed");
      return;
    }
    // The one it replaces stays the rollback target (unless it is the same version, re-rolled out).
    cache.activated(model, before && before.version !== model.version ? before : cache.state().previous);
    scorecard.reset(r.version);
    await report({ type: "tide.model.activated.v1", data: { edge, version: r.version, previousVersion, rolloutId: r.rolloutId, cause: "rollout", sha256: artifact.sha256 } });
    cache.record(r.rolloutId, "activated");
    log.info({ rollout: r.rolloutId, version: r.version, previousVersion }, "model activated by rollout");
  }

  /** Back to what ran before `r`: the previous model from the engine or the local copy, else the baseline. */
  async function revert(r: Rollout): Promise<void> {
    const previous = cache.state().previous;
    const from = engine.activeVersion();
    if (previous && engine.previousVersion() === previous.version) {
      engine.rollback();
    } else if (previous) {
      const bytes = cache.read(previous);
      if (!bytes) throw new NotFoundError(`no local copy of ${previous.version} to roll back to`);
      swapIn(engine, await loadModelFromBytes(tf, `local copy of ${previous.version}`, bytes, previous));
    } else {
      engine.deactivate();
    }
    cache.activated(previous, undefined);
    await report({ type: "tide.model.activated.v1", data: { edge, version: previous?.version ?? BASELINE_VERSION, previousVersion: from, rolloutId: r.rolloutId, cause: "rollback" } });
    cache.record(r.rolloutId, "reverted");
    log.warn({ rollout: r.rolloutId, from, to: previous?.version ?? BASELINE_VERSION, reason: r.outcome?.reason }, "rollout rolled back: previous model restored");
  }

  async function observe(r: Rollout): Promise<void> {
    const criteria = r.plan!.criteria;
    if (!observing || observing.rolloutId !== r.rolloutId) {
      observing = { rolloutId: r.rolloutId, version: r.version, previous: cache.state().previous?.version ?? BASELINE_VERSION, since: Date.now() };
    }
    const current = scorecard.performance(r.version);
    const elapsed = Date.now() - observing.since;
    if (current.inferences < criteria.minInferences && elapsed < criteria.observeMs) return;
    const previous = scorecard.performance(observing.previous);
    await report({ type: "tide.model.observed.v1", data: { edge, rolloutId: r.rolloutId, current, previous, observedMs: Math.round(elapsed) } });
    cache.record(r.rolloutId, "observed");
    observing = undefined;
    log.info({ rollout: r.rolloutId, current, previous }, "model observed");
  }

  /** The newest rollout that reached this edge. */
  function target(): Rollout | undefined {
    for (let i = state.order.length - 1; i >= 0; i--) {
      const r = state.rollouts.get(state.order[i]!)!;
      if (r.plan && startedStageFor(r, edge) !== undefined) return r;
    }
    return undefined;
  }

  async function reconcileOnce(): Promise<void> {
    const r = target();
    if (!r) return;
    const step = cache.step(r.rolloutId);
    if (r.status === "rolled_back") {
      if ((step === "activated" || step === "observed") && cache.state().active?.rolloutId === r.rolloutId) await revert(r);
      else if (step === undefined || step === "activated" || step === "observed") cache.record(r.rolloutId, "reverted");
      return;
    }
    if (step === undefined) await activate(r);
    else if (step === "activated" && r.status === "running") await observe(r);
  }

  function reconcile(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await reconcileOnce();
        } catch (error) {
          // Transient (the cloud is unreachable, a report could not be stored): the next tick tries again.
          log.debug({ err: errorMessage(error) }, "rollout step not done; retrying");
          await sleep(pollMs * 4, undefined, { signal: controller.signal }).catch(() => undefined);
        }
      } while (again && !controller.signal.aborted);
    })().finally(() => (running = undefined));
    return running;
  }

  return {
    /** Restores the last active model from the local copy (offline too), then follows rollouts. */
    async start(): Promise<void> {
      await restore();
      feed = startControlFeed({
        nc,
        streams: ["ROLLOUTS"],
        logger: log,
        onEvent: (stored) => {
          state = evolve(state, { stream: "ROLLOUTS", seq: stored.seq, subject: stored.subject, storedAt: stored.storedAt, event: stored.event });
          if (ready) void reconcile();
        },
      });
      // Not awaited: while the link is down the edge serves what it has; it catches up when the link is back.
      void feed.caughtUp.then(() => {
        // A stop while it caught up (a Ctrl-C during start-up) came first: no timer may outlive it.
        if (controller.signal.aborted) return;
        ready = true;
        timer = setInterval(() => void reconcile(), pollMs);
        void reconcile();
      });
    },
    /** Resolves once the agent has read every rollout there was when it started. */
    caughtUp: (): Promise<void> => feed?.caughtUp ?? Promise.resolve(),
    reconcile,
    /** Tells the cloud of a model activated outside a rollout (`tide edge --model`, `activateModel`), so lineage can say so. */
    async reportLocalActivation(activated: { version: string; previousVersion: string; sha256: string }): Promise<void> {
      await report({ type: "tide.model.activated.v1", data: { edge, ...activated, cause: "local" } });
    },
    async stop(): Promise<void> {
      controller.abort();
      ready = false;
      if (timer) clearInterval(timer);
      await feed?.stop();
      await running;
    },
  };

  async function restore(): Promise<void> {
    const { active, previous } = cache.state();
    for (const model of [previous, active]) {
      if (!model) continue;
      const bytes = cache.read(model);
      try {
        if (!bytes) throw new NotFoundError(`no local copy of model ${model.version}`);
        swapIn(engine, await loadModelFromBytes(tf, `local copy of ${model.version}`, bytes, model));
      } catch (error) {
        log.error({ version: model.version, err: errorMessage(error) }, "cannot restore a model from its local copy");
        continue;
      }
      if (model === active) {
        await report({ type: "tide.model.activated.v1", data: { edge, version: model.version, rolloutId: model.rolloutId, cause: "restore", sha256: model.sha256 } }).catch(() => undefined);
        log.info({ version: model.version, previous: previous?.version }, "model restored from the local copy");
      }
    }
  }
}
export type RolloutAgent = ReturnType<typeof startRolloutAgent>;
