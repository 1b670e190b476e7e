import { createPublicKey, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createModelSigner, createModelVerifier, generateSigningKeyPair, loadOrCreateModelSigner, modelVerifierFromDir, signingKeyPaths, type SignedArtifact } from "./signing.ts";

const artifact: SignedArtifact = { version: "v3", bucket: "models", name: "v3", sha256: "a".repeat(64), size: 1234 };

function keyPair() {
  const pair = generateSigningKeyPair();
  return { signer: createModelSigner(createPrivateKey(pair.privateKeyPem)), publicKey: createPublicKey(pair.publicKeyPem) };
}

describe("model signatures", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("accepts a signature by the trusted key over the same statement", () => {
    const { signer, publicKey } = keyPair();
    const verdict = createModelVerifier([publicKey]).verify(artifact, signer.sign(artifact));
    expect(verdict).toEqual({ valid: true, keyId: signer.keyId });
  });

  it("refuses unsigned, malformed, foreign-key and tampered signatures with distinct reasons", () => {
    const { signer, publicKey } = keyPair();
    const other = keyPair();
    const verifier = createModelVerifier([publicKey]);
    const signature = signer.sign(artifact);
    expect(verifier.verify(artifact, undefined)).toMatchObject({ valid: false, reason: "UNSIGNED" });
    expect(verifier.verify(artifact, "")).toMatchObject({ valid: false, reason: "UNSIGNED" });
    expect(verifier.verify(artifact, "not a signature")).toMatchObject({ valid: false, reason: "MALFORMED" });
    expect(verifier.verify(artifact, other.signer.sign(artifact))).toMatchObject({ valid: false, reason: "UNKNOWN_KEY" });
    // Same key, but the statement differs in one field each time.
    for (const changed of [{ sha256: "b".repeat(64) }, { size: 1235 }, { version: "v4" }, { name: "v4" }, { bucket: "other" }]) {
      expect(verifier.verify({ ...artifact, ...changed }, signature)).toMatchObject({ valid: false, reason: "BAD_SIGNATURE" });
    }
    // A flipped bit in the signature itself.
    const body = Buffer.from(signature.split(":")[2]!, "base64");
    body[0]! ^= 1;
    expect(verifier.verify(artifact, `ed25519:${signer.keyId}:${body.toString("base64")}`)).toMatchObject({ valid: false, reason: "BAD_SIGNATURE" });
  });

  it("with no trusted key refuses everything", () => {
    const { signer } = keyPair();
    expect(createModelVerifier([]).verify(artifact, signer.sign(artifact))).toMatchObject({ valid: false, reason: "NO_TRUSTED_KEY" });
  });

  it("keeps the key pair in <dir>/keys (private key 0600) and reuses it; the dir verifier reads the public key", () => {
    const dir = mkdtempSync(join(tmpdir(), "tide-signing-"));
    dirs.push(dir);
    const verifier = modelVerifierFromDir(dir);
    expect(verifier.verify(artifact, "ed25519:0000000000000000:x")).toMatchObject({ valid: false, reason: "NO_TRUSTED_KEY" });
    const first = loadOrCreateModelSigner(dir);
    const pem = readFileSync(signingKeyPaths(dir).privateKey, "utf8");
    expect(statSync(signingKeyPaths(dir).privateKey).mode & 0o777).toBe(0o600);
    const second = loadOrCreateModelSigner(dir);
    expect(second.keyId).toBe(first.keyId);
    expect(readFileSync(signingKeyPaths(dir).privateKey, "utf8")).toBe(pem);
    expect(verifier.verify(artifact, first.sign(artifact))).toEqual({ valid: true, keyId: first.keyId });
  });
});
