/**
 * Why a figure misses its target, from profiling it (`--cpu-prof` and
 * inspector profiles of each side, 2 cores, nats.js 2.29, nats-server 2.9.10).
 * BENCHMARKS.md shows an entry only when its figure misses in that run; the
 * run's own diagnostics (under "How each figure was measured") give the numbers.
 */
export const findings: ReadonlyMap<string, string> = new Map([
  [
    "ingest.ratio",
    "Not our code's CPU: since the ack path below, an append costs less CPU than the ceiling's bare publish (compare the CPU per " +
      "item in the details), so a miss is wall time lost to other work on this 2-core machine (see the load average) or the server's " +
      "share of the envelope (7 CloudEvents headers, more bytes than the body, deduplicated on `Nats-Msg-Id`: the envelope diagnostic). " +
      "What changed, each found and checked with CPU profiles: (1) the event writer's publishes are acknowledged through the " +
      "connection's request inbox with a small waiting entry instead of `js.publish` -> `nc.request`, whose RequestOne, raced timer and " +
      "deferred promises and the stack-traced `NatsError` that `RequestOne.cancel` builds after every ack were 20-30% of an append's " +
      "CPU (src/store/ack-inbox.ts: nats.js still routes each ack and fails it on no responders, permissions, a timeout or a closed " +
      "connection exactly as it fails a request, and the JetStream client's `parseJsResponse` reads it); (2) `encodeEvent` fills the " +
      "headers with `MsgHdrsImpl.fromRecord` when every value is already as nats.js would store it (`append` canonicalised each key " +
      "and scanned all keys per insert), and body and header bytes go through pooled Buffers instead of fresh TextEncoder arrays; " +
      "(3) `createEvent` formats its time from a per-second cache; (4) the writer and `appendToStream` are plain functions returning " +
      "the publish's promise (no async frames, no option spreads). CPU per append went from 1.45 times the ceiling's to 0.65-0.75.",
  ],
  [
    "projection.ratio",
    "Near the line, so a busy machine can tip it (compare the load average). The ceiling writes rows already in memory, a SQLite " +
      "upsert of a few µs each; ours must first read each event from JetStream, then decode and validate it (CloudEvents headers, " +
      "`JSON.parse`, the schema). What brought it from 0.16 (first run) through 0.26 to above 0.5, each found with CPU profiles: " +
      "(1) `readBatches` reads through a pull consumer of its own on a core subscription (src/store/read-stream.ts): the sequence, " +
      "stored time and pending count come from the ack subject's bytes (src/store/stream-message.ts), no JsMsg, promise or string per " +
      "message; (2) CloudEvents headers are read from the raw bytes (src/events/raw-headers.ts), not through nats.js's MsgHdrs; " +
      "(3) the reading schema has a fast path (`isPlainReading`) that accepts only what zod would return unchanged, held to zod by a " +
      "mutation spec, zod deciding everything else; (4) `devices` folds a batch per device and writes each device once per batch " +
      "(the `perEvent` diagnostic is the same applier writing every event on its own). Without (4) the ratio is the perEvent " +
      "diagnostic's.",
  ],
  [
    "replay.ratio",
    "Near the line, so a busy machine can tip it (compare the load average). The ceiling only counts messages; ours decodes and " +
      "validates each one, as the design requires. The read under `readStream` (`readBatches`, a pull consumer of our own whose " +
      "messages are taken in the subscription's callback and handed over in batches) runs well above the ceiling (its diagnostic below), " +
      "which pays for most of the per-event work: the CloudEvents headers read from the raw bytes, `JSON.parse` of the body, the schema " +
      "(a fast path for readings, held to zod by a spec) and the async-generator step per event.",
  ],
  [
    "edge.decision.p99.ms@1000",
    "CPU starvation on a shared 2-core machine, and the runtime's CPU cost per reading. The details give, for each run, how much of " +
      "the time the runtime's main thread was ready to run but waited for a CPU (from `/proc/<pid>/schedstat`), and the CPU that work " +
      "outside this benchmark (`other`) took; when both are high, every reading waits in the run queue, and readings stored during a " +
      "wait are decided in a burst after it, which is the p99. Profiled at 1,000/s (`--cpu-prof` on `tide edge`), the runtime is one " +
      "Node.js thread doing, per reading: ingest (parse, validate, append: ~14% of its busy time), the two local projections (each a " +
      "reader over READINGS, decoded and written to SQLite: ~20% before they folded batches and lingered 50 ms before a commit " +
      "instead of a transaction per reading; ~10% since), the pipeline (consume, decode, build and append the " +
      "inference event, ack: ~15%), TensorFlow.js (~11%: ~120–200 µs per model call; the engine's 2 ms batching wait was also " +
      "~1–2 ms of every reading's latency for no CPU saved, and is gone: requests made together batch, and under load those queued " +
      "behind a running call make the next one), and nats.js itself (~29%: a socket write per flushed " +
      "microtask burst ~10%, and a stack-traced `NatsError` built in `RequestOne.cancel` after every JetStream publish ack ~5%), plus GC " +
      "(~5%). No single hot spot: the projections (projections/engine/applier.ts), ingest and envelope decoding are being optimised " +
      "separately. Fixed on the way: the engine called `model.predict` with tfjs's default batchSize of 32 rows, so a full micro-batch " +
      "(64 requests, 128 rows) ran as 4 model executions plus a concat (3.3× the cost of one); it now runs as one. And the pipeline held " +
      "each device's next reading until the previous one's appends were acked, one reading per device per round trip: when the " +
      "runtime fell behind, round trips grew behind the backlog on its connection and throughput collapsed to a fraction of capacity " +
      "(≈200/s decided while 2,000–5,000/s were offered); a device's next reading now waits only until the previous one's events are " +
      "sent (one connection stores them in the order sent), and each reading is still acked only once its events are stored. " +
      "p99 < 10 ms at 1,000/s needs the runtime to get a core when it needs one: on a machine where it waits for a CPU a third or more " +
      "of the time, no change in its code can promise a 10 ms tail.",
  ],
  [
    "edge.stream_vs_http.ratio",
    "The 10× target assumes HTTP is the slow path. Here `POST /predict` only predicts (validate, batch into the same engine, answer): it " +
      "stores nothing, while each streamed reading is appended, projected twice, inferred, stored as an inference event (and decision and " +
      "command when the action changes) and acked: about 9 NATS messages through the runtime's connection (the device's publish, the " +
      "reading's append and its ack, the pipeline's delivery, the inference append and its ack, the pipeline's ack, two projection " +
      "deliveries) and 5 zod validations per reading. Per reading " +
      "the streaming path therefore costs the runtime several times the CPU of an HTTP call, and both are limited by the same single " +
      "runtime thread, so HTTP comes out ahead (the ratio is below 1, by how much depends on how much CPU the HTTP callers, on the " +
      "same machine, leave the runtime: see the CPU shares). Streaming's real advantages " +
      "over per-reading HTTP are not throughput on one box but durability, replay and decoupling: a reading is stored and acknowledged " +
      "before inference, survives a runtime crash (redelivered, decided once by deterministic ids) and is decided even if no client " +
      "waits. Streaming 10× HTTP would need the per-reading cost of the streaming path cut several times (see edge.decision.p99.ms@1000) " +
      "or inference moved off the runtime's thread.",
  ],
  [
    "rss.edge-runtime.mb",
    "The overall peak is reached above capacity (the 5,000/s point, failed ramp steps); up to and through the steady 1,000/s runs " +
      "the runtime stays lower (`rss.edge-runtime.mb@1000`). Idle, it is ~105–115 MiB (the start-up figure): Node.js ~40, nats.js + zod " +
      "+ pino + better-sqlite3 ~20, TF.js (core, layers, CPU and WASM backends) ~40, our code ~10. What changed to get there: `tide` runs " +
      "a bundle of its sources instead of tsx's loader (a worker thread with its own heap: ~45 MiB), imports TF.js from its parts instead " +
      "of the union package (converter, tfjs-data and WebGL: ~14 MiB), imports it with source maps off, and runs Node with " +
      "`--max-semi-space-size=4 --heap-growing-percent=100` (bin/tide.js's #! line): a young generation of at most 12 MiB instead of 48, " +
      "and an old generation that may grow to twice what the last full collection left before the next one, instead of up to four " +
      "times. Ingest holds at most 2,048 readings and answers `unavailable` beyond, so an overload does not grow memory without bound. " +
      "Measured on this machine (edge benchmark alone; overall peak / peak through 1,000/s / max sustained / best p99 at 1,000/s), " +
      "two interleaved rounds: the young-generation flag alone 230 and 239 / 157 and 150 MiB / 4,100 and 3,700/s / 11.4 and 7.9 ms; " +
      "both flags as shipped 170 and 168 / 137 and 132 MiB / 4,550 and 4,100/s / 6.2 and 7.3 ms. With the old generation at 1.5× " +
      "(`--heap-growing-percent=50`) 150 / 116 MiB / 3,350/s / 10.7 ms, at 1.2× 142 / 112 MiB / 3,050/s / 11.3 ms: below 2× the " +
      "collections start to cost throughput. The p99 at 1,000/s moves between ~6 and ~12 ms from one run to the next on this shared " +
      "2-core machine (the runtime waits for a CPU ~30% of the time: see the CPU shares), whichever flags.",
  ],
]);
