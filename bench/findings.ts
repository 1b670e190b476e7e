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
]);
