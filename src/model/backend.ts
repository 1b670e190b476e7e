import type * as tfCore from "@tensorflow/tfjs-core";
import type * as tfLayers from "@tensorflow/tfjs-layers";
import { ConfigError, errorMessage } from "../errors.ts";
import { TfBackend } from "../events/inference.ts";
import type { Logger } from "../log.ts";

/**
 * The TensorFlow.js namespace Tide passes around: tfjs-core and tfjs-layers,
 * all that Tide's models use. When `@tensorflow/tfjs-node` loads it is *its*
 * namespace (it bundles its own tfjs), so every module must use the `tf`
 * returned by {@link selectBackend}, never its own import.
 */
export type Tf = Omit<typeof tfCore, "default"> & Omit<typeof tfLayers, "default">;

/** The outcome of choosing a backend: the namespace to use and its backend. */
export interface BackendSelection {
  readonly tf: Tf;
  readonly backend: TfBackend;
  /** Backends tried before this one, and why each did not load. */
  readonly skipped: ReadonlyArray<{ backend: TfBackend; reason: string }>;
}

export interface SelectBackendOptions {
  logger: Logger;
  /** Forces a backend; wins over `TIDE_TF_BACKEND`. */
  override?: TfBackend;
  /** Where `TIDE_TF_BACKEND` is read from; `process.env` when not given. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The environment variable that forces a backend. */
export const BACKEND_ENV = "TIDE_TF_BACKEND";

/** Automatic order: native first, then WASM, then the pure-JS CPU backend. */
const PREFERENCE: readonly TfBackend[] = ["tensorflow", "wasm", "cpu"];

/** A variable specifier keeps tsc from resolving an optional package that may be absent. */
const TFJS_NODE = "@tensorflow/tfjs-node";

function isTf(value: unknown): value is Tf {
  const candidate = value as Partial<Tf> | null;
  return typeof candidate?.setBackend === "function" && typeof candidate.getBackend === "function" && typeof candidate.tensor === "function";
}

async function activate(tf: Tf, backend: TfBackend): Promise<Tf> {
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  return tf;
}

/**
 * Imports a TF.js package with Node's source-map support off. tsx turns it on,
 * and then Node parses and keeps the source map of every module it loads: the
 * tfjs bundles ship ~17 MB of them, which cost ~40–60 MB of RSS in every process
 * that runs a model (the edge runtime's `rss.edge-runtime.mb`). Stack traces
 * into tfjs then point at its bundled JS, which is all they would show anyway.
 */
async function importQuietly<T>(load: () => Promise<T>): Promise<T> {
  const enabled = process.sourceMapsEnabled === true;
  if (enabled) process.setSourceMapsEnabled(false);
  try {
    return await load();
  } finally {
    if (enabled) process.setSourceMapsEnabled(true);
  }
}

/** A CommonJS package's exports as an ES import gives them (`default` is `module.exports`, the whole of it). */
const exportsOf = <T>(mod: T | { default: T }): T => (mod as { default?: T }).default ?? (mod as T);

let tfjsModule: Promise<Tf> | undefined;
/**
 * TF.js imported once, on first use: tfjs-core, tfjs-layers and the CPU
 * backend (whose kernels the WASM backend also falls back on). Not the
 * `@tensorflow/tfjs` union package: it also loads the graph-model converter,
 * tfjs-data and the WebGL backend, none of which runs or is used here, for
 * ~14 MiB more in every process that runs a model.
 */
const importTfjs = (): Promise<Tf> =>
  (tfjsModule ??= importQuietly(async () => {
    const [core, layers] = await Promise.all([import("@tensorflow/tfjs-core"), import("@tensorflow/tfjs-layers")]);
    await import("@tensorflow/tfjs-backend-cpu");
    return { ...exportsOf(core), ...exportsOf(layers) };
  }));

/** Loads one backend and returns the namespace it lives in; throws why it cannot. */
async function load(backend: TfBackend): Promise<Tf> {
  switch (backend) {
    case "tensorflow": {
      const mod: unknown = await importQuietly(() => import(TFJS_NODE));
      const ns = (mod as { default?: unknown }).default ?? mod;
      if (!isTf(ns)) throw new Error(`${TFJS_NODE} loaded but does not export a tfjs namespace`);
      return activate(ns, "tensorflow");
    }
    case "wasm": {
      const tf = await importTfjs();
      await importQuietly(() => import("@tensorflow/tfjs-backend-wasm"));
      return activate(tf, "wasm");
    }
    case "cpu":
      return activate(await importTfjs(), "cpu");
    default: {
      const never: never = backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

function forcedBackend(options: SelectBackendOptions): TfBackend | undefined {
  if (options.override) return options.override;
  const raw = (options.env ?? process.env)[BACKEND_ENV];
  if (raw === undefined || raw === "") return undefined;
  const parsed = TfBackend.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${BACKEND_ENV}='${raw}' is not a TF.js backend; use one of ${TfBackend.options.join(", ")}`);
  return parsed.data;
}

/**
 * A backend chooser with its own memo. The process uses the default one through
 * {@link selectBackend}; tests make their own.
 */
export function createBackendSelector() {
  let chosen: Promise<BackendSelection> | undefined;
  let settled: BackendSelection | undefined;

  async function choose(options: SelectBackendOptions, forced: TfBackend | undefined): Promise<BackendSelection> {
    const { logger } = options;
    if (forced) {
      try {
        const tf = await load(forced);
        logger.info({ backend: forced, forced: true }, `TF.js backend: ${forced} (forced)`);
        return { tf, backend: forced, skipped: [] };
      } catch (error) {
        throw new ConfigError(`TF.js backend '${forced}' was forced (override or ${BACKEND_ENV}) but cannot load: ${errorMessage(error)}`, { cause: error });
      }
    }
    const skipped: Array<{ backend: TfBackend; reason: string }> = [];
    for (const backend of PREFERENCE) {
      try {
        const tf = await load(backend);
        logger.info({ backend, skipped }, `TF.js backend: ${backend}`);
        return { tf, backend, skipped };
      } catch (error) {
        skipped.push({ backend, reason: errorMessage(error) });
      }
    }
    throw new ConfigError(`no TF.js backend could load: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ")}`);
  }

  return {
    /**
     * Chooses the backend once; later calls return the same selection. A later
     * call that forces a different backend than the one chosen is refused.
     * A failed choice is not memoised, so it can be retried.
     */
    async select(options: SelectBackendOptions): Promise<BackendSelection> {
      const forced = forcedBackend(options);
      if (!chosen) {
        chosen = choose(options, forced).then(
          (selection) => (settled = selection),
          (error: unknown) => {
            chosen = undefined;
            throw error;
          },
        );
      }
      const selection = await chosen;
      if (forced && forced !== selection.backend) {
        throw new ConfigError(`TF.js backend already chosen for this process: '${selection.backend}'; cannot switch to '${forced}'`);
      }
      return selection;
    },
    /** The chosen backend, or `undefined` before the choice completes (for heartbeats). */
    current(): TfBackend | undefined {
      return settled?.backend;
    },
  };
}
export type BackendSelector = ReturnType<typeof createBackendSelector>;

const processSelector = createBackendSelector();

/** Chooses this process's TF.js backend (once) and returns the namespace to use everywhere. */
export const selectBackend = (options: SelectBackendOptions): Promise<BackendSelection> => processSelector.select(options);

/** This process's backend once chosen, for heartbeats; `undefined` before. */
export const currentBackend = (): TfBackend | undefined => processSelector.current();
