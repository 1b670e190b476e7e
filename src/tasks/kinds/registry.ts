import type { NatsConnection } from "nats";
import type { z } from "zod";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ValidationError, errorMessage } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { StoredEvent } from "../../store/read-stream.ts";
import type { TaskSpec } from "../../scheduler/types.ts";
import type { InferenceResult, PredictInput } from "../../../edge-runtime/inference/engine.ts";

/** What runs a model on a window: the edge's inference engine, when the node has one. */
export interface Predictor {
  predict(input: PredictInput): Promise<InferenceResult>;
}

/** What a handler gets for one attempt of one task. */
export interface TaskContext {
  task: TaskSpec;
  /** The payload, parsed by the kind's schema when it has one. */
  payload: unknown;
  attempt: number;
  /** The node running it. */
  node: string;
  /**
   * The task's data range, read from where it lives (edge or cloud). The time
   * spent here is the attempt's measured T_transmit; the rest is T_compute.
   */
  readData(): Promise<StoredEvent[]>;
  /** Report progress (0..1); throttled, recorded as `tide.task.progressed.v1`. */
  progress(fraction: number): void;
  /** Aborted when the attempt is superseded (rescheduled elsewhere) or the worker stops. */
  signal: AbortSignal;
  nc: NatsConnection;
  logger: Logger;
  predictor?: Predictor;
}

/** A task kind: its name, what it does, an optional payload schema, and the handler that runs it. */
export interface TaskKind {
  kind: string;
  description: string;
  /** Checked at submission (built-in kinds) and before the handler runs; a mismatch fails the task for good. */
  payload?: z.ZodType;
  /** True when the kind reads a stream range (`data` is required). */
  readsData?: boolean;
  /** Returns the task's result (kept small: it is stored in the completion event). */
  handler(ctx: TaskContext): Promise<unknown>;
}

/** Kind names: lower-case, digits, `_`, `.` and `-`, starting with a letter. */
export const KIND_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/** The kinds a worker runs. */
export interface TaskKindRegistry {
  /** Add a kind; a bad or duplicate name is a ValidationError. Chainable. */
  register(kind: TaskKind): TaskKindRegistry;
  get(name: string): TaskKind | undefined;
  has(name: string): boolean;
  /** Names of the registered kinds, as heartbeats advertise them. */
  names(): string[];
}

/** The kinds a worker runs; users register their own next to the built-in ones. */
export function createTaskKindRegistry(initial: readonly TaskKind[] = []): TaskKindRegistry {
  const kinds = new Map<string, TaskKind>();
  const registry: TaskKindRegistry = {
    register(kind) {
      if (!KIND_NAME.test(kind.kind)) throw new ValidationError(`task kind '${kind.kind}' must match ${KIND_NAME}`);
      if (kinds.has(kind.kind)) throw new ValidationError(`task kind '${kind.kind}' is already registered`);
      if (typeof kind.handler !== "function") throw new ValidationError(`task kind '${kind.kind}' has no handler`);
      kinds.set(kind.kind, kind);
      return registry;
    },
    get: (name) => kinds.get(name),
    has: (name) => kinds.has(name),
    names: () => [...kinds.keys()].sort(),
  };
  for (const kind of initial) registry.register(kind);
  return registry;
}

const isKind = (value: unknown): value is TaskKind =>
  typeof value === "object" && value !== null && typeof (value as TaskKind).kind === "string" && typeof (value as TaskKind).handler === "function";

/**
 * Task kinds from a user module (`tide worker --module FILE`): a `.ts` or `.js`
 * ES module exporting `kinds` (an array of `{ kind, description, handler,
 * payload? }`) or a default export of that array.
 */
export async function loadKindsModule(path: string): Promise<TaskKind[]> {
  let module: { kinds?: unknown; default?: unknown };
  const url = pathToFileURL(resolve(path)).href;
  try {
    module = (await import(url).catch(async (error: unknown) => {
      // `tide` runs as a bundle of plain JavaScript: a TypeScript module needs tsx's loader, registered on first need.
      if (!(error instanceof Error && "code" in error && error.code === "ERR_UNKNOWN_FILE_EXTENSION")) throw error;
      const { register } = await import("tsx/esm/api");
      register();
      // Another URL: Node keeps the failed load of the first one.
      return import(`${url}?typescript`);
    })) as typeof module;
  } catch (error) {
    throw new ValidationError(`cannot load task kinds from ${path}: ${errorMessage(error)}`, [], { cause: error });
  }
  const kinds = module.kinds ?? module.default;
  if (!Array.isArray(kinds) || kinds.length === 0) throw new ValidationError(`${path} must export 'kinds': an array of task kinds`);
  const bad = kinds.findIndex((k) => !isKind(k));
  if (bad >= 0) throw new ValidationError(`${path}: kinds[${bad}] needs a 'kind' name and a 'handler' function`);
  return kinds as TaskKind[];
}
