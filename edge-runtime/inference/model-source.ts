import type { JetStreamClient } from "nats";
import { readFile } from "node:fs/promises";
import { NotFoundError, ValidationError, errorMessage } from "../../src/errors.ts";
import { loadModelArtifact, sha256, type LoadedModel } from "../../src/model/artifact.ts";
import type { Tf } from "../../src/model/backend.ts";

/** What the caller (e.g. a rollout, from `model.published`) expects the artifact to be. */
export interface ExpectedArtifact {
  sha256?: string;
  size?: number;
  /** The model version the artifact must carry. */
  version?: string;
}

/** The bytes are not the artifact that was announced; nothing is loaded. */
export class IntegrityError extends ValidationError {
  readonly source: string;
  constructor(source: string, message: string) {
    super(`model artifact ${source} failed verification: ${message}`, [message]);
    this.name = "IntegrityError";
    this.source = source;
  }
}

/** Checks size and digest before any byte is parsed. */
export function verifyArtifactBytes(source: string, bytes: Uint8Array, expected: ExpectedArtifact = {}): string {
  if (expected.size !== undefined && bytes.byteLength !== expected.size) {
    throw new IntegrityError(source, `size is ${bytes.byteLength} bytes, expected ${expected.size}`);
  }
  const digest = sha256(bytes);
  if (expected.sha256 !== undefined && digest !== expected.sha256.toLowerCase()) {
    throw new IntegrityError(source, `sha256 is ${digest}, expected ${expected.sha256}`);
  }
  return digest;
}

async function loadVerified(tf: Tf, source: string, bytes: Uint8Array, expected: ExpectedArtifact): Promise<LoadedModel> {
  verifyArtifactBytes(source, bytes, expected);
  const loaded = await loadModelArtifact(tf, bytes);
  if (expected.version !== undefined && loaded.version !== expected.version) {
    loaded.model.dispose();
    throw new IntegrityError(source, `artifact carries version ${loaded.version}, expected ${expected.version}`);
  }
  return loaded;
}

/**
 * Loads a `tide-model/1` artifact from a local file. With `expected` values,
 * size and SHA-256 are verified before parsing (`IntegrityError`); corrupt
 * bytes give a `ValidationError`; a missing file a `NotFoundError`.
 */
export async function loadModelFromFile(tf: Tf, path: string, expected: ExpectedArtifact = {}): Promise<LoadedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`model artifact file ${path} does not exist`);
    throw new Error(`cannot read model artifact file ${path}: ${errorMessage(error)}`, { cause: error });
  }
  return loadVerified(tf, path, bytes, expected);
}

/** The slice of nats.js `JetStreamClient` this module needs (a real client fits). */
export type ObjectStoreClient = Pick<JetStreamClient, "views" | "jetstreamManager">;

/** nats.js `views.os()` creates a missing bucket; a model reader must not, so look first. */
async function requireBucket(js: ObjectStoreClient, bucket: string): Promise<void> {
  const jsm = await js.jetstreamManager();
  try {
    await jsm.streams.info(`OBJ_${bucket}`);
  } catch (error) {
    if (/stream not found/i.test(errorMessage(error))) throw new NotFoundError(`object store bucket ${bucket} does not exist`);
    throw error;
  }
}

/**
 * The bytes of a JetStream Object Store entry (`bucket`/`name`; use a
 * domain-bound `jetstream({ domain })` client for another domain). nats.js
 * checks the chunks against the entry's own digest (`IntegrityError` if they
 * differ). A missing bucket or entry is a `NotFoundError` (the bucket is never created).
 */
export async function readObjectStoreArtifact(js: ObjectStoreClient, bucket: string, name: string): Promise<Uint8Array> {
  const source = `${bucket}/${name}`;
  let bytes: Uint8Array | null;
  await requireBucket(js, bucket);
  try {
    const store = await js.views.os(bucket);
    bytes = await store.getBlob(name);
  } catch (error) {
    const message = errorMessage(error);
    if (/digests do not match/.test(message)) throw new IntegrityError(source, message);
    throw new Error(`cannot read model artifact ${source} from the object store: ${message}`, { cause: error });
  }
  if (bytes === null) throw new NotFoundError(`model artifact ${source} is not in the object store`);
  return bytes;
}

/** Verifies (`expected`) and loads artifact bytes read from `source`. */
export function loadModelFromBytes(tf: Tf, source: string, bytes: Uint8Array, expected: ExpectedArtifact = {}): Promise<LoadedModel> {
  return loadVerified(tf, source, bytes, expected);
}

/**
 * Loads an artifact from a JetStream Object Store entry. `expected` (from
 * `model.published`) is checked on top of the store's own digest, so a
 * replaced entry is caught too.
 */
export async function loadModelFromObjectStore(tf: Tf, js: ObjectStoreClient, bucket: string, name: string, expected: ExpectedArtifact = {}): Promise<LoadedModel> {
  return loadVerified(tf, `${bucket}/${name}`, await readObjectStoreArtifact(js, bucket, name), expected);
}
