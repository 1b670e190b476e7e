import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, ValidationError, errorMessage } from "../errors.ts";

/**
 * Model signatures. The cloud signs what `model.published` announces about an
 * artifact (version, where it is stored, SHA-256 and size) with an ed25519
 * key; an edge verifies that signature against the cloud's public key before
 * it loads a byte. Signing the digest (not the bytes) is enough because the
 * edge checks the bytes against the digest anyway; signing the version and the
 * location too means a signed artifact cannot be replayed under another
 * version.
 *
 * A signature reads `ed25519:<key id>:<base64 signature>`; the key id (first
 * 16 hex digits of the SHA-256 of the raw public key) names the key, so a
 * rotated key is refused with a clear reason instead of "bad signature".
 */

/** What a model signature covers. */
export interface SignedArtifact {
  version: string;
  bucket: string;
  name: string;
  sha256: string;
  size: number;
}

/** `<dir>/keys/`: the cloud's model-signing key pair. */
export function signingKeyPaths(dir: string): { privateKey: string; publicKey: string } {
  return { privateKey: join(dir, "keys", "model-signing.key"), publicKey: join(dir, "keys", "model-signing.pub") };
}

const STATEMENT_FORMAT = "tide-model-signature/1";

/** The exact bytes that are signed: one field per line, so no field can bleed into the next. */
export function signedStatement(artifact: SignedArtifact): Buffer {
  const { version, bucket, name, sha256, size } = artifact;
  for (const [field, value] of Object.entries({ version, bucket, name, sha256 })) {
    if (value.includes("\n")) throw new Error(`model signature: ${field} contains a newline`);
  }
  return Buffer.from([STATEMENT_FORMAT, version, bucket, name, sha256.toLowerCase(), String(size)].join("\n"), "utf8");
}

export function keyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: "der", type: "spki" });
  return createHash("sha256").update(raw).digest("hex").slice(0, 16);
}

export interface ModelSigner {
  readonly keyId: string;
  /** The `signature` field of `model.published`. */
  sign(artifact: SignedArtifact): string;
}

export function createModelSigner(privateKey: KeyObject): ModelSigner {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new ConfigError(`model-signing key must be ed25519, is ${privateKey.asymmetricKeyType}`);
  const id = keyId(createPublicKey(privateKey));
  return {
    keyId: id,
    sign: (artifact) => `ed25519:${id}:${sign(null, signedStatement(artifact), privateKey).toString("base64")}`,
  };
}

/** Why a signature was refused. */
export type SignatureVerdict =
  | { valid: true; keyId: string }
  | { valid: false; reason: "UNSIGNED" | "MALFORMED" | "UNKNOWN_KEY" | "BAD_SIGNATURE" | "NO_TRUSTED_KEY"; message: string };

export interface ModelVerifier {
  verify(artifact: SignedArtifact, signature: string | undefined): SignatureVerdict;
}

const SIGNATURE = /^ed25519:([0-9a-f]{16}):([A-Za-z0-9+/]{86}==)$/;

/** Verify against trusted public keys (more than one while a key is being rotated). */
export function createModelVerifier(trusted: readonly KeyObject[]): ModelVerifier {
  const keys = new Map(trusted.map((k) => [keyId(k), k] as const));
  return {
    verify(artifact, signature) {
      if (keys.size === 0) return { valid: false, reason: "NO_TRUSTED_KEY", message: "no trusted model-signing key is configured" };
      if (signature === undefined || signature === "") return { valid: false, reason: "UNSIGNED", message: `model ${artifact.version} is not signed` };
      const match = SIGNATURE.exec(signature);
      if (!match) return { valid: false, reason: "MALFORMED", message: `model ${artifact.version} has a malformed signature (expected ed25519:<key id>:<base64>)` };
      const [, id, body] = match as unknown as [string, string, string];
      const key = keys.get(id);
      if (!key) return { valid: false, reason: "UNKNOWN_KEY", message: `model ${artifact.version} is signed by key ${id}, which is not trusted (trusted: ${[...keys.keys()].join(", ")})` };
      const ok = verify(null, signedStatement(artifact), key, Buffer.from(body, "base64"));
      return ok ? { valid: true, keyId: id } : { valid: false, reason: "BAD_SIGNATURE", message: `model ${artifact.version}: signature by key ${id} does not match its artifact (version, location, sha256, size)` };
    },
  };
}

/** A fresh ed25519 key pair (PEM). */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(), publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString() };
}

/** The cloud's signer from `<dir>/keys/`, generating the key pair on first use (private key mode 0600). */
export function loadOrCreateModelSigner(dir: string): ModelSigner {
  const paths = signingKeyPaths(dir);
  if (!existsSync(paths.privateKey)) {
    mkdirSync(join(dir, "keys"), { recursive: true, mode: 0o700 });
    const pair = generateSigningKeyPair();
    writeFileSync(paths.privateKey, pair.privateKeyPem, { mode: 0o600, flag: "wx" });
    writeFileSync(paths.publicKey, pair.publicKeyPem, { mode: 0o644 });
  }
  try {
    return createModelSigner(createPrivateKey(readFileSync(paths.privateKey)));
  } catch (error) {
    throw new ConfigError(`cannot load the model-signing key ${paths.privateKey}: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * An edge's verifier: trusts the public key at `<dir>/keys/model-signing.pub`,
 * read at each verification so a key written after the edge started (the cloud
 * creates it on first start) is picked up. No key file: every model is refused.
 */
export function modelVerifierFromDir(dir: string): ModelVerifier {
  const path = signingKeyPaths(dir).publicKey;
  return {
    verify(artifact, signature) {
      let key: KeyObject;
      try {
        key = createPublicKey(readFileSync(path));
      } catch (error) {
        return { valid: false, reason: "NO_TRUSTED_KEY", message: `cannot read the trusted model-signing key ${path}: ${errorMessage(error)}` };
      }
      return createModelVerifier([key]).verify(artifact, signature);
    },
  };
}

/** An artifact whose signature does not verify: nothing of it is loaded. */
export class SignatureError extends ValidationError {
  readonly reason: Exclude<SignatureVerdict, { valid: true }>["reason"];
  constructor(verdict: Exclude<SignatureVerdict, { valid: true }>) {
    super(`signature refused (${verdict.reason}): ${verdict.message}`, [verdict.message]);
    this.name = "SignatureError";
    this.reason = verdict.reason;
  }
}

/** Where and what a rollout says an artifact is (`rollout.planned`'s artifact). */
export interface AnnouncedArtifact {
  bucket: string;
  name: string;
  sha256: string;
  size: number;
  signature?: string | undefined;
}

/**
 * The edge's check before it loads an artifact: its announced digest must be
 * signed by a trusted key for this version (the bytes are then checked
 * against that digest). Throws `SignatureError`.
 */
export function requireSignature(verifier: ModelVerifier, artifact: AnnouncedArtifact, version: string): void {
  const { bucket, name, sha256, size, signature } = artifact;
  const verdict = verifier.verify({ version, bucket, name, sha256, size }, signature);
  if (!verdict.valid) throw new SignatureError(verdict);
}
