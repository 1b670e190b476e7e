/**
 * Why a figure misses its target, from profiling it (`--cpu-prof` and
 * inspector profiles of each side, 2 cores, nats.js 2.29, nats-server 2.9.10).
 * BENCHMARKS.md shows an entry only when its figure misses in that run; the
 * run's own diagnostics (under "How each figure was measured") give the numbers.
 */
export const findings: ReadonlyMap<string, string> = new Map([
  [
    "ingest.ratio",
    "Two causes; the envelope diagnostic below splits them for this run. (1) The envelope: each event carries 7 CloudEvents headers, more bytes than the JSON body itself, " +
      "which nats.js encodes on every publish and the server checks against its duplicate window (`Nats-Msg-Id`); the " +
      "diagnostic (a bare publish with the same headers prebuilt) shows what that alone costs. (2) Our code per reading: " +
      "`createEvent` (random UUID, timestamp), `encodeEvent` (a fresh MsgHdrs; nats.js validates and canonicalises every key and " +
      "value) and the writer's promise layers, plus the garbage they make (GC is about a fifth of our profile). Both sides also pay " +
      "nats.js building a stack-traced `NatsError` for every completed request (12–20% of the CPU profile, `RequestOne.cancel` after " +
      "resolve). `encodeEvent` used `MsgHdrs.set` on fresh headers, which scans every key before each insert; it now uses `append`. " +
      "The rest is the envelope the design requires: 0.8 would need fewer or shorter headers, or a cheaper header encoder than nats.js's.",
  ],
  [
    "projection.ratio",
    "Structural. The ceiling writes rows that are already in memory, and a SQLite upsert costs only a few µs. Ours must first read " +
      "each event from JetStream, have nats.js parse its 7 headers, and decode and validate it; the read-only diagnostic below (the " +
      "same applier with a handler that writes nothing) shows that this alone costs several times the ceiling's whole upsert, so " +
      "even free SQLite could not reach 0.5. The applier also holds each batch of 1000 decoded events until its transaction commits, " +
      "which shows as more GC than a plain replay. `decodeEvent` looked every header up two or three times (each lookup scans all " +
      "keys); it now reads each once, which halved its cost. Getting to 0.5 needs a cheaper read path (headers parsed lazily or " +
      "by hand, or trusting events validated at append), which is a design decision, not a tuning knob.",
  ],
  [
    "replay.ratio",
    "The ceiling only counts messages. Ours must read each message's headers: nats.js parses the header block into a MsgHdrs, " +
      "validating and canonicalising each key and scanning all keys on each insert (the cost grows with the square of the header " +
      "count; we send 7). The headers diagnostic below shows how much of the ceiling that alone takes. `readMessages` " +
      "then adds the sequence, subject and ISO timestamp of each message, and decoding adds `JSON.parse`, the zod schema and the " +
      "header lookups. `decodeEvent` did two or three lookups per header (`has` then `get`, each scanning every key, plus a closure " +
      "per call); it now reads each header once, which halved its cost. 0.8 against a bare counter is out of reach while every " +
      "event is read through nats.js's header parser.",
  ],
  [
    "edge.decision.p99.ms@1000",
    "CPU starvation on a shared 2-core machine, and the runtime's CPU cost per reading. The details give, for each run, how much of " +
      "the time the runtime's main thread was ready to run but waited for a CPU (from `/proc/<pid>/schedstat`), and the CPU that work " +
      "outside this benchmark (`other`) took; when both are high, every reading waits in the run queue, and readings stored during a " +
      "wait are decided in a burst after it, which is the p99. Profiled at 1,000/s (`--cpu-prof` on `tide edge`), the runtime is one " +
      "Node.js thread doing, per reading: ingest (parse, validate, append: ~14% of its busy time), the two local projections (each an " +
      "ordered consumer over READINGS, decoded and written to SQLite: ~20%), the pipeline (consume, decode, build and append the " +
      "inference event, ack: ~15%), TensorFlow.js (~11%: ~120–200 µs per model call, batches of 2–3 at this rate with the engine's " +
      "2 ms batching wait, which is also ~1–2 ms of every reading's latency), and nats.js itself (~29%: a socket write per flushed " +
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
    "Idle, the runtime is ~155 MiB (see the start-up figure): Node.js ~40, tsx's loader thread ~30 (no build step: the TypeScript is " +
      "compiled at load in a worker isolate), nats.js + zod + pino + better-sqlite3 ~20, TensorFlow.js with its WASM backend ~45, our code " +
      "~15. `selectBackend` imported tfjs with Node's source-map support on (tsx turns it on), so Node parsed and kept the ~17 MB of source " +
      "maps tfjs ships (~40–60 MiB of RSS); it now imports TF.js with source maps off (src/model/backend.ts). Under sustained load the V8 " +
      "heap grows with garbage between full collections (old space reaches ~100 MiB of which ~35 is live, plus the young generation), " +
      "giving ~240–270 MiB at 1,000/s. Above capacity (the 5,000/s point, failed ramp steps) ingest takes every published reading into " +
      "memory with no bound (a core NATS subscription has no backpressure; each reading waits as a promise for an append slot), so the " +
      "peak grows with the backlog: that is the overall peak reported. Bounding it needs flow control in ingest (edge-runtime/ingest, " +
      "owned elsewhere) — e.g. a bounded queue that answers `unavailable` beyond it — and, for the steady state, a smaller young " +
      "generation (`--max-semi-space-size`) traded against GC time.",
  ],
]);
