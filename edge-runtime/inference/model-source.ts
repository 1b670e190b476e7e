import type { JetStreamClient } from "nats";
import { createHash } from "node:crypto";
import { z } from "zod";
import { isNoMessage } from "../../src/store/api-errors.ts";
import { getMessage } from "../../src/store/read-by-gets.ts";
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
export type ObjectStoreClient = Pick<JetStreamClient, "jetstreamManager">;

/** What nats.js's Object Store keeps in an entry's metadata message (`$O.<bucket>.M.<name>`). */
const ObjectMeta = z.object({
  nuid: z.string().min(1),
  size: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  digest: z.string(),
  deleted: z.boolean().optional(),
  options: z.object({ link: z.unknown().optional() }).passthrough().optional(),
});

const DIGEST_PREFIX = "SHA-256=";
/** nats.js names an entry's metadata subject by the name in padded base64url. */
const metaSubject = (bucket: string, name: string) => `$O.${bucket}.M.${Buffer.from(name, "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_")}`;

/**
 * The bytes of a JetStream Object Store entry (`bucket`/`name`; use a
 * domain-bound `jetstream({ domain })` client for another domain), read
 * through message gets alone: the entry's metadata (last by subject), then
 * its chunks in order (next by subject). That is all an edge may do with the
 * cloud's streams (no consumers: src/topology/auth.ts, `edgeCloudApi`).
 * Size and digest are checked against the entry's own metadata
 * (`IntegrityError` if they differ). A missing bucket or entry is a
 * `NotFoundError` (the bucket is never created).
 */
export async function readObjectStoreArtifact(js: ObjectStoreClient, bucket: string, name: string): Promise<Uint8Array> {
  const source = `${bucket}/${name}`;
  const stream = `OBJ_${bucket}`;
  const jsm = await js.jetstreamManager();
  const failed = (error: unknown) => new Error(`cannot read model artifact ${source} from the object store: ${errorMessage(error)}`, { cause: error });
  let raw;
  try {
    raw = await jsm.streams.getMessage(stream, { last_by_subj: metaSubject(bucket, name) });
  } catch (error) {
    if (isNoMessage(error)) throw new NotFoundError(`model artifact ${source} is not in the object store`);
    if (/stream not found/i.test(errorMessage(error))) throw new NotFoundError(`object store bucket ${bucket} does not exist`);
    throw failed(error);
  }
  const meta = ObjectMeta.safeParse(raw.json());
  if (!meta.success) throw new IntegrityError(source, `unreadable object metadata: ${meta.error.issues.map((i) => i.message).join("; ")}`);
  const info = meta.data;
  if (info.deleted) throw new NotFoundError(`model artifact ${source} is not in the object store (deleted)`);
  if (info.options?.link !== undefined) throw new ValidationError(`model artifact ${source} is a link, not an artifact`, ["object store links are not followed"]);
  const chunks: Uint8Array[] = [];
  let seq = 1;
  while (chunks.length < info.chunks) {
    const chunk = await getMessage(jsm, stream, { seq, next_by_subj: `$O.${bucket}.C.${info.nuid}` }).catch((error: unknown) => {
      throw failed(error);
    });
    if (!chunk) throw new IntegrityError(source, `${chunks.length} of ${info.chunks} chunks in the store`);
    chunks.push(chunk.data);
    seq = chunk.seq + 1;
  }
  const bytes = Buffer.concat(chunks);
  if (bytes.byteLength !== info.size) throw new IntegrityError(source, `chunks hold ${bytes.byteLength} bytes, the entry says ${info.size}`);
  // nats.js writes the digest as padded base64url: compare without the padding.
  if (!info.digest.startsWith(DIGEST_PREFIX)) throw new IntegrityError(source, `unknown digest type: ${info.digest}`);
  const stated = info.digest.slice(DIGEST_PREFIX.length).replace(/=+$/, "");
  const digest = createHash("sha256").update(bytes).digest("base64url");
  if (digest !== stated) throw new IntegrityError(source, `digests do not match: the entry says ${info.digest}, the chunks are ${DIGEST_PREFIX}${digest}`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
