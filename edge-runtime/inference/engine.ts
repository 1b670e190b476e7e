import type { Tensor } from "@tensorflow/tfjs";
import { ValidationError, errorMessage } from "../../src/errors.ts";
import { TfBackend } from "../../src/events/inference.ts";
import type { Logger } from "../../src/log.ts";
import type { LoadedModel } from "../../src/model/artifact.ts";
import type { Tf } from "../../src/model/backend.ts";
import { inputSize, type ReadingPoint } from "../../src/model/features.ts";
import { BASELINE_VERSION, baselinePredict } from "./baseline.ts";
import { createModelSlots, type ModelEntry } from "./model-slots.ts";

/** One request: a device's recent readings, oldest first, each with its READINGS seq. */
export interface PredictInput {
  device: string;
  window: readonly ReadingPoint[];
}

/** One answer; shaped to become a `tide.inference.completed.v1` event. */
export interface InferenceResult {
  device: string;
  /** The exact model that produced this result, or `baseline`. */
  modelVersion: string;
  basis: "model" | "baseline";
  /** The TF.js backend that ran the model; absent for baseline results. */
  backend?: TfBackend;
  prediction: { temperature: number };
  anomalyScore: number;
  /** From `predict()` to the answer, queueing included. */
  latencyMs: number;
  /** Seqs of the readings used, oldest first. */
  inputSeqs: number[];
  /** Requests in the model call that produced it (1 for baseline). */
  batchSize: number;
}

/** A model call failed; every request of that call gets this. */
export class InferenceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InferenceError";
  }
}

export interface InferenceEngineOptions {
  tf: Tf;
  logger: Logger;
  /** Most requests stacked into one model call. */
  maxBatch?: number;
  /**
   * How long the first request of a batch waits for company; 0 (the default)
   * = the next macrotask: requests that arrived together batch, and under load
   * the requests that queue while a batch runs make the next one, so a wait
   * only adds latency (a 2 ms wait was 2 ms of every reading's p50 at
   * 1,000 readings/s, for no CPU saved: BENCHMARKS.md).
   */
  maxWaitMs?: number;
}

interface Pending {
  input: PredictInput;
  /** The model bound at admission; `undefined` = baseline. */
  entry: ModelEntry | undefined;
  startedAt: number;
  resolve: (result: InferenceResult) => void;
  reject: (error: Error) => void;
}

/**
 * Local inference with micro-batching and model hot-swap.
 *
 * Each request is bound to the model that is current when `predict()` is
 * called, so a swap is a clean cut in request order: earlier requests (queued
 * or in flight) finish on the old model, later ones use the new one. One FIFO
 * queue and one batch at a time mean results resolve in request order.
 *
 * Model scoring: for a window of ≥ W+1 readings, the model predicts the next
 * temperature from the last W, and — in the same call — the last reading from
 * the W before it; anomalyScore = |last observed − that prediction| /
 * residualStd (artifact meta), i.e. how many held-out residual standard
 * deviations the last reading is off. Shorter windows get the baseline.
 */
export function createInferenceEngine(options: InferenceEngineOptions) {
  const { tf, logger, maxBatch = 64, maxWaitMs = 0 } = options;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  const slots = createModelSlots({ tf, logger });
  const queue: Pending[] = [];
  let running = false;
  let cancelTimer: (() => void) | undefined;
  let idle: Array<() => void> = [];
  const counters = { requests: 0, modelRequests: 0, baselineRequests: 0, batches: 0, largestBatch: 0, failedBatches: 0 };

  const backendNow = (): TfBackend | undefined => {
    const parsed = TfBackend.safeParse(tf.getBackend());
    return parsed.success ? parsed.data : undefined;
  };

  function baselineResult(p: Pending): InferenceResult {
    counters.baselineRequests++;
    const out = baselinePredict(p.input.window);
    return {
      device: p.input.device,
      modelVersion: BASELINE_VERSION,
      basis: "baseline",
      prediction: { temperature: out.temperature },
      anomalyScore: out.anomalyScore,
      latencyMs: performance.now() - p.startedAt,
      inputSeqs: out.inputSeqs,
      batchSize: 1,
    };
  }

  /** One model call for requests bound to the same model: rows 2i = last W, 2i+1 = the W before the last. */
  async function runModel(entry: ModelEntry, group: Pending[]): Promise<void> {
    const { window: w, norm, loaded } = entry;
    const width = inputSize(w);
    const packed = new Float32Array(group.length * 2 * width);
    group.forEach((p, i) => {
      const points = p.input.window;
      const n = points.length;
      norm.writeInput(points, packed, 2 * i * width, n - w, n);
      norm.writeInput(points, packed, (2 * i + 1) * width, n - w - 1, n - 1);
    });
    counters.batches++;
    counters.modelRequests += group.length;
    counters.largestBatch = Math.max(counters.largestBatch, group.length);
    const rows = group.length * 2;
    // One execution for the whole batch: `predict`'s default batchSize (32) would split a full batch (128 rows) into 4 and concat them.
    const out = tf.tidy(() => loaded.model.predict(tf.tensor2d(packed, [rows, width]), { batchSize: rows }) as Tensor);
    let values: Float32Array | Int32Array | Uint8Array;
    try {
      values = await out.data();
    } finally {
      out.dispose();
    }
    const backend = backendNow();
    const residualStd = loaded.meta.residualStd;
    group.forEach((p, i) => {
      const points = p.input.window;
      const n = points.length;
      const inputSeqs: number[] = [];
      for (let k = n - w - 1; k < n; k++) inputSeqs.push(points[k]!.seq);
      const expectedLast = norm.denormaliseTemperature(values[2 * i + 1]!);
      p.resolve({
        device: p.input.device,
        modelVersion: entry.version,
        basis: "model",
        ...(backend ? { backend } : {}),
        prediction: { temperature: norm.denormaliseTemperature(values[2 * i]!) },
        anomalyScore: Math.abs(points[n - 1]!.temperature - expectedLast) / residualStd,
        latencyMs: performance.now() - p.startedAt,
        inputSeqs,
        batchSize: group.length,
      });
    });
  }

  /**
   * Runs a batch: consecutive requests bound to the same model share one call.
   * Whatever fails rejects its group (settled promises ignore it), so no request hangs.
   */
  async function runBatch(batch: Pending[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const entry = batch[i]!.entry;
      let j = i + 1;
      while (j < batch.length && batch[j]!.entry === entry) j++;
      const group = batch.slice(i, j);
      i = j;
      try {
        if (entry) await runModel(entry, group);
        else for (const p of group) p.resolve(baselineResult(p));
      } catch (error) {
        counters.failedBatches++;
        const version = entry?.version ?? BASELINE_VERSION;
        logger.error({ version, requests: group.length, err: error }, "inference failed");
        const failure = new InferenceError(`${version} failed on a batch of ${group.length}: ${errorMessage(error)}`, { cause: error });
        for (const p of group) p.reject(failure);
      } finally {
        if (entry) slots.release(entry, group.length);
      }
    }
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) await runBatch(queue.splice(0, maxBatch));
    } finally {
      running = false;
      const waiters = idle;
      idle = [];
      for (const wake of waiters) wake();
    }
  }

  /** Flushes now, cancelling a pending wait. */
  function flush(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    void drain();
  }

  /** A full batch flushes at once; otherwise the first queued request starts the wait (a running batch picks them up anyway). */
  function schedule(): void {
    if (queue.length >= maxBatch) return flush();
    if (cancelTimer || running) return;
    if (maxWaitMs > 0) {
      const handle = setTimeout(flush, maxWaitMs);
      cancelTimer = () => clearTimeout(handle);
    } else {
      const handle = setImmediate(flush);
      cancelTimer = () => clearImmediate(handle);
    }
  }

  /** Resolves once every request made so far is answered. */
  async function drained(): Promise<void> {
    if (queue.length > 0 && !running) flush();
    while (running || queue.length > 0) await new Promise<void>((wake) => idle.push(wake));
  }

  return {
    /** Predicts the next temperature and scores the last reading; micro-batched with concurrent calls. */
    predict(input: PredictInput): Promise<InferenceResult> {
      const startedAt = performance.now();
      counters.requests++;
      if (input.window.length === 0) return Promise.reject(new ValidationError(`device ${input.device}: an inference needs at least one reading`));
      let entry = slots.acquire();
      if (entry && input.window.length < entry.window + 1) {
        slots.release(entry, 1);
        entry = undefined;
      }
      return new Promise<InferenceResult>((resolve, reject) => {
        const pending: Pending = { input, entry, startedAt, resolve, reject };
        // Nothing ahead of it: a baseline answer needs no batching and keeps order.
        if (!entry && queue.length === 0 && !running) return resolve(baselineResult(pending));
        queue.push(pending);
        schedule();
      });
    },
    /** Hot-swaps in `loaded` after a warm-up (throws `ActivationError` and keeps the current model if it fails). */
    activate: (loaded: LoadedModel) => slots.activate(loaded),
    /** Back to the baseline. */
    deactivate: () => slots.deactivate(),
    /** Back to the previous model. */
    rollback: () => slots.rollback(),
    activeVersion: () => slots.activeVersion(),
    previousVersion: () => slots.previousVersion(),
    /** Readings a request should carry for the active model (W + 1), else it gets the baseline. */
    requiredWindow: () => slots.requiredWindow(),
    /** Requests waiting for a batch (for heartbeats). */
    queueDepth: (): number => queue.length,
    /** Counters since creation; `batches` counts model calls. */
    stats: () => ({ ...counters, queueDepth: queue.length }),
    drained,
    /** Answers what is queued, then disposes every model. */
    async close(): Promise<void> {
      await drained();
      slots.disposeAll();
    },
  };
}
export type InferenceEngine = ReturnType<typeof createInferenceEngine>;
