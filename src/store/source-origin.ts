import { createHash } from "node:crypto";
import { edgeDomain } from "../ids.ts";
import { headerValueOf, type DeliveredMessage } from "./message-envelope.ts";

/**
 * Where a sourced message came from, as the cloud's JetStream says.
 *
 * A cloud stream that sources an edge's stream stores each message with the
 * subject the edge gave it: nats-server 2.9.10 applies a source's filter on
 * the edge's side, so a compromised edge could put readings under another
 * edge's subjects into its own UPLINK, and the cloud READINGS would store
 * them as they are. What the edge cannot choose is the `Nats-Stream-Source`
 * header the cloud's JetStream stamps on every sourced message (it replaces
 * any the edge sent): `<stream>:<hash of the source's API prefix> <seq>`. So
 * a cloud reader checks that a message under edge X's subjects came from
 * edge X's stream.
 */
export const STREAM_SOURCE_HEADER = "Nats-Stream-Source";

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** nats-server's short name hash (`getHash`): the first 8 bytes of SHA-256, each as a base-62 digit. */
export function serverHash(name: string): string {
  const bytes = createHash("sha256").update(name).digest();
  let hash = "";
  for (let i = 0; i < 8; i++) hash += DIGITS[bytes[i]! % DIGITS.length];
  return hash;
}

/**
 * The cloud's JetStream names a source by its API prefix's `serverHash`: kept
 * per edge (one SHA-256 each, not one per message). Edge names come from
 * subjects an edge may choose, so the cache is bounded.
 */
const edgeHashes = new Map<string, string>();
const EDGE_HASHES_MAX = 4096;
function edgeHash(edge: string): string {
  let hash = edgeHashes.get(edge);
  if (hash === undefined) {
    hash = serverHash(`$JS.${edgeDomain(edge)}.API`);
    if (edgeHashes.size < EDGE_HASHES_MAX) edgeHashes.set(edge, hash);
  }
  return hash;
}

/** The origin the cloud's JetStream stamps on what it sources from `stream` of `edge` (`external.api` `$JS.edge-<id>.API`). */
export function edgeSourceOrigin(stream: string, edge: string): string {
  return `${stream}:${edgeHash(edge)}`;
}

/**
 * Why a sourced message in a cloud stream is not what its subject claims:
 * the subject names edge X (`tide.<family>.<edge>...`: readings, summaries
 * and distribution stats in READINGS, reports in MODELS) but the message was
 * sourced from another edge's stream (its `Nats-Stream-Source` header, the
 * `sourceHeader` given). `undefined` when it came from edge X, or when it was
 * not sourced at all (no header: stored in the cloud itself, which no edge
 * can do).
 */
export function forgedOriginOf(subject: string, sourceHeader: string | undefined): string | undefined {
  if (sourceHeader === undefined) return undefined;
  const origin = sourceHeader.split(" ")[0] ?? "";
  const edge = subject.split(".")[2];
  if (!edge) return `sourced from ${origin}, but its subject names no edge`;
  const expected = edgeHash(edge);
  return origin.slice(origin.indexOf(":") + 1) === expected ? undefined : `sourced from ${origin}, not from edge ${edge} (its streams are <name>:${expected})`;
}

/** `forgedOriginOf` a stored message, its header read from the raw bytes. */
export function forgedOrigin(message: DeliveredMessage & { readonly subject: string }): string | undefined {
  return forgedOriginOf(message.subject, headerValueOf(message, STREAM_SOURCE_HEADER));
}
