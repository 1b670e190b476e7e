import type { NatsConnection } from "nats";
import { errorMessage } from "../../errors.ts";
import type { TideEvent } from "../../events/index.ts";
import { sha256 } from "../../model/artifact.ts";
import type { Finding } from "./findings.ts";

type Published = TideEvent<"tide.model.published.v1">;

/** Every published artifact must be in its Object Store bucket with exactly the published size and SHA-256. */
export async function artifactFindings(cloud: NatsConnection, domain: string, published: readonly Published[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const js = cloud.jetstream({ domain });
  for (const { data } of published) {
    const { bucket, name, digest } = data.artifact;
    const where = { check: "artifacts" as const, domain, stream: `OBJ_${bucket}` };
    let bytes: Uint8Array | null;
    try {
      const store = await js.views.os(bucket);
      bytes = await store.getBlob(name);
    } catch (error) {
      // nats.js checks the Object Store's own digest while reading: damaged chunks fail here.
      findings.push({ ...where, severity: "violation", message: `model ${data.version}: artifact ${bucket}/${name} cannot be read: ${errorMessage(error)}` });
      continue;
    }
    if (!bytes) {
      findings.push({ ...where, severity: "violation", message: `model ${data.version}: artifact ${bucket}/${name} is not in the Object Store` });
      continue;
    }
    const actual = sha256(bytes);
    if (actual !== digest.sha256 || bytes.byteLength !== digest.size) {
      findings.push({
        ...where,
        severity: "violation",
        message: `model ${data.version}: artifact ${bucket}/${name} does not match its published digest`,
        details: { published: { sha256: digest.sha256, size: digest.size }, stored: { sha256: actual, size: bytes.byteLength } },
      });
    }
  }
  return findings;
}
