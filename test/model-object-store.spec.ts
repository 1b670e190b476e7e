import * as tf from "@tensorflow/tfjs";
import type { NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError, loadModelFromObjectStore, readObjectStoreArtifact } from "../edge-runtime/inference/model-source.ts";
import { NotFoundError } from "../src/errors.ts";
import { CLOUD_DOMAIN } from "../src/ids.ts";
import { serializeModel, sha256 } from "../src/model/artifact.ts";
import { createForecastModel, disposeForecastModel } from "../src/model/forecast-model.ts";
import { givenTopology } from "./harness.ts";

// An edge reads the cloud's models bucket through message gets alone (its hub account has no consumer API):
// these read it from edge 1's connection, across its leaf link, as the rollout agent does.
type Given = Awaited<ReturnType<typeof givenTopology>>;
let given: Given;
let cloud: NatsConnection;
let edge: NatsConnection;
let bytes: Uint8Array;
const stats = { temperature: { mean: 20, std: 2 }, humidity: { mean: 50, std: 10 } };

beforeAll(async () => {
  await tf.setBackend("cpu");
  const model = createForecastModel(tf, { window: 4, seed: 1 });
  bytes = await serializeModel(model, { version: "m-7", normalisation: stats, window: 4, residualStd: 0.3 });
  disposeForecastModel(model);
  given = await givenTopology({ edges: 1 });
  cloud = await given.connect(CLOUD_DOMAIN);
  edge = await given.connect("1");
  const store = await cloud.jetstream().views.os("models");
  await store.putBlob({ name: "m-7" }, bytes);
  // Several chunks, the last one short.
  const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
  await store.putBlob({ name: "big", options: { max_chunk_size: 128 * 1024 } }, big);
  await cloud.jetstream().views.os("other");
}, 60_000);

afterAll(async () => {
  await given?.cleanup();
});

const edgeJs = () => edge.jetstream({ domain: CLOUD_DOMAIN });

describe("models bucket read from an edge", () => {
  it("loads an entry and verifies it against what was published", async () => {
    const loaded = await loadModelFromObjectStore(tf, edgeJs(), "models", "m-7", { sha256: sha256(bytes), size: bytes.byteLength, version: "m-7" });
    expect(loaded).toMatchObject({ version: "m-7", sha256: sha256(bytes) });
    loaded.model.dispose();
  });

  it("reads an entry of several chunks byte for byte", async () => {
    const read = await readObjectStoreArtifact(edgeJs(), "models", "big");
    expect(read.byteLength).toBe(300_000);
    expect(sha256(read)).toBe(sha256(new Uint8Array(300_000).map((_, i) => (i * 7) % 251)));
  });

  it("refuses an entry whose digest is not the published one", async () => {
    await expect(loadModelFromObjectStore(tf, edgeJs(), "models", "m-7", { sha256: "f".repeat(64) })).rejects.toBeInstanceOf(IntegrityError);
  });

  it("refuses chunks that do not match the entry's own digest", async () => {
    const js = cloud.jetstream();
    const store = await js.views.os("models");
    await store.putBlob({ name: "tampered" }, bytes);
    const info = (await store.info("tampered"))!;
    // Replace the chunk behind the metadata's back (the stream keeps the older one too: the reader takes the first).
    const jsm = await cloud.jetstreamManager();
    const chunk = await jsm.streams.getMessage("OBJ_models", { last_by_subj: `$O.models.C.${info.nuid}` });
    await jsm.streams.deleteMessage("OBJ_models", chunk.seq);
    const flipped = new Uint8Array(bytes);
    flipped[10] = flipped[10]! ^ 0xff;
    await js.publish(`$O.models.C.${info.nuid}`, flipped);
    const error = await readObjectStoreArtifact(edgeJs(), "models", "tampered").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/digests do not match/);
  });

  it("says which bucket or entry is missing, and creates no bucket", async () => {
    await expect(readObjectStoreArtifact(cloud.jetstream(), "nope", "m-7")).rejects.toThrow(/bucket nope does not exist/);
    // An edge may read the models bucket only: another bucket is out of its reach, whether it exists or not.
    await expect(readObjectStoreArtifact(edgeJs(), "nope", "m-7")).rejects.toThrow(/cannot read model artifact nope\/m-7/);
    await expect(readObjectStoreArtifact(edgeJs(), "other", "m-7")).rejects.toThrow(/cannot read model artifact other\/m-7/);
    await expect(readObjectStoreArtifact(edgeJs(), "models", "absent")).rejects.toThrow(/models\/absent is not in the object store/);
    await expect(readObjectStoreArtifact(edgeJs(), "models", "absent")).rejects.toBeInstanceOf(NotFoundError);
    const names: string[] = [];
    for await (const name of (await cloud.jetstreamManager()).streams.names()) names.push(name);
    expect(names).not.toContain("OBJ_nope");
  });

  it("refuses a deleted entry", async () => {
    const store = await cloud.jetstream().views.os("models");
    await store.putBlob({ name: "gone" }, bytes);
    await store.delete("gone");
    await expect(readObjectStoreArtifact(edgeJs(), "models", "gone")).rejects.toThrow(/not in the object store/);
  });
});
