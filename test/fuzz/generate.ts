import { createRandom, type Random } from "../../edge-runtime/simulator/prng.ts";

/**
 * Malformed input for every ingress, from a seed. Every case is invalid by
 * construction (never a valid reading or request by chance), so a fuzz run
 * must store none of it as data: each is rejected with a clear error, or
 * dead-lettered with its reason.
 */

const encoder = new TextEncoder();

/** A message for the edge's ingest (NATS `tide.ingest.<edge>.<device>`). */
export interface IngestCase {
  kind: string;
  /** The device token of the subject, or extra tokens after it (a bad subject). */
  subjectTail: string;
  headers?: Record<string, string>;
  data: Uint8Array;
}

/** A route to fuzz; a GET route names the query parameters it validates (each gets a bad value). */
export interface HttpRoute {
  method: "GET" | "POST";
  path: string;
  params?: string[];
}

/** An HTTP request to one of the routes. */
export interface HttpCase {
  kind: string;
  method: string;
  path: string;
  contentType?: string;
  body?: string | Uint8Array;
}

const CE_HEADERS = ["ce-specversion", "ce-id", "ce-type", "ce-source", "ce-time"] as const;

function randomBytes(r: Random, max: number): Uint8Array {
  const out = new Uint8Array(r.int(0, max));
  for (let i = 0; i < out.length; i++) out[i] = r.int(0, 255);
  return out;
}

function randomString(r: Random, max: number): string {
  const alphabet = "abcXYZ019 _-.:/\\\"'{}[]<>*>$%\u00e9\u4e2d\u{1F600}\u0000\n\t";
  const chars = [...alphabet];
  return Array.from({ length: r.int(0, max) }, () => chars[r.int(0, chars.length - 1)]).join("");
}

function randomScalar(r: Random): unknown {
  switch (r.int(0, 7)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return randomString(r, 12);
    case 3:
      return [r.int(-5, 5)];
    case 4:
      return { v: r.int(0, 9) };
    case 5:
      return "21.5";
    case 6:
      return -1e308 * 10; // -Infinity: serialises as null
    default:
      return r.between(-1e6, 1e6);
  }
}

const goodReading = (r: Random) => ({ temperature: Math.round(r.between(-10, 40) * 10) / 10, humidity: Math.round(r.between(0, 100) * 10) / 10 });

function deep(levels: number): string {
  return "[".repeat(levels) + "]".repeat(levels);
}

/** A device id that is valid (so the subject is fine and the payload is what is wrong). */
const validDevice = (r: Random) => `fz-${r.int(0, 49)}`;

const ingestKinds: ((r: Random) => IngestCase)[] = [
  (r) => ({ kind: "random bytes", subjectTail: validDevice(r), data: randomBytes(r, 300) }),
  (r) => ({ kind: "not an object", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify(randomScalar(r))) }),
  (r) => ({ kind: "wrong field types", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ temperature: r.chance(0.5) ? randomScalar(r) : "hot", humidity: r.chance(0.5) ? "wet" : randomScalar(r) })) }),
  (r) => {
    const bad = r.int(0, 3);
    const reading = goodReading(r);
    const broken = bad === 0 ? { ...reading, temperature: r.between(126, 1e9) } : bad === 1 ? { ...reading, temperature: -r.between(61, 1e9) } : bad === 2 ? { ...reading, humidity: r.between(100.01, 1e6) } : { ...reading, humidity: -r.between(0.01, 1e6) };
    return { kind: "out of range", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify(broken)) };
  },
  (r) => ({ kind: "missing fields", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify(r.chance(0.5) ? { temperature: 20 } : r.chance(0.5) ? { humidity: 40 } : {})) }),
  (r) => ({ kind: "unknown field", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ ...goodReading(r), [`x${randomString(r, 6)}`]: randomScalar(r) })) }),
  (r) => ({ kind: "bad ts", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ ...goodReading(r), ts: r.chance(0.5) ? randomString(r, 20) + "not-a-time" : r.chance(0.5) ? -r.int(1, 1e9) : true })) }),
  (r) => ({ kind: "bad seq", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ ...goodReading(r), seq: r.chance(0.5) ? -r.int(1, 100) : r.chance(0.5) ? 1.5 : "7" })) }),
  (r) => ({ kind: "oversize", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ ...goodReading(r), pad: "x".repeat(r.int(4100, 20_000)) })) }),
  (r) => {
    const text = JSON.stringify({ ...goodReading(r), seq: r.int(0, 1e6) });
    return { kind: "truncated JSON", subjectTail: validDevice(r), data: encoder.encode(text.slice(0, r.int(1, text.length - 2))) };
  },
  (r) => ({ kind: "NaN / Infinity literals", subjectTail: validDevice(r), data: encoder.encode(`{"temperature": ${r.chance(0.5) ? "NaN" : "Infinity"}, "humidity": 40}`) }),
  (r) => ({ kind: "deep nesting", subjectTail: validDevice(r), data: encoder.encode(deep(r.int(100, 2000))) }),
  (r) => ({ kind: "prototype keys", subjectTail: validDevice(r), data: encoder.encode(`{"__proto__": {"temperature": 20}, "constructor": 1, "temperature": 20, "humidity": 40, "extra": ${r.int(0, 9)}}`) }),
  (r) => {
    // Some but not all CloudEvents headers, or a complete set with a type that is not a reading.
    const headers: Record<string, string> = {};
    const complete = r.chance(0.5);
    for (const h of CE_HEADERS) if (complete || r.chance(0.4)) headers[h] = h === "ce-type" ? (complete ? `tide.bogus.${r.int(0, 9)}.v1` : "tide.reading.recorded.v1") : randomString(r, 10).replace(/[\r\n]/g, "") || "x";
    if (!complete) {
      // Incomplete for sure: one of the required four is missing, and at least one ce-* header is present.
      delete headers[CE_HEADERS[r.int(0, 3)]!];
      if (Object.keys(headers).length === 0) headers["ce-time"] = "2026-01-01T00:00:00Z";
    }
    return { kind: "bad headers", subjectTail: validDevice(r), headers, data: encoder.encode(JSON.stringify(goodReading(r))) };
  },
  (r) => ({ kind: "device mismatch", subjectTail: validDevice(r), data: encoder.encode(JSON.stringify({ ...goodReading(r), device: `other-${r.int(0, 9)}` })) }),
  (r) => ({ kind: "bad subject (extra tokens)", subjectTail: `${validDevice(r)}.${r.chance(0.5) ? "x" : "y.z"}`, data: encoder.encode(JSON.stringify(goodReading(r))) }),
  (r) => ({ kind: "bad subject (device id)", subjectTail: r.chance(0.5) ? `dev${["$", "%", "@", "!", "~"][r.int(0, 4)]}${r.int(0, 99)}` : "d".repeat(r.int(65, 200)), data: encoder.encode(JSON.stringify(goodReading(r))) }),
  (r) => ({ kind: "invalid UTF-8", subjectTail: validDevice(r), data: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0xc3, 0x28, 0x7d, ...randomBytes(r, 20)]) }),
];

/** Payloads an MQTT device can send (no headers, its own topic). */
const mqttKinds = ingestKinds.filter((_, i) => ![13, 15, 16].includes(i));

/**
 * An MQTT publish of a good reading on a topic its device may not use: the
 * only thing wrong is the topic, so any of them reaching ingest would store a
 * reading. `closes`: the topic is not a valid subject (`.`, a space, an MQTT
 * wildcard, empty), and nats-server closes the connection; otherwise it
 * PUBACKs a QoS 1 publish and drops it (DESIGN §9).
 */
export interface MqttTopicCase {
  kind: string;
  topic: string;
  closes: boolean;
  data: Uint8Array;
}

/** A topic level that stays one level and a valid subject token (no `/`, `.`, space, `+`, `#`). */
function junkLevel(r: Random, max = 12): string {
  const chars = [..."abcXYZ019-_*>$%~@!\u00e9\u4e2d\u{1F600}\u0000"];
  return Array.from({ length: r.int(1, max) }, () => chars[r.int(0, chars.length - 1)]).join("");
}

const topicKinds: ((r: Random, edge: string, device: string) => Omit<MqttTopicCase, "data">)[] = [
  (r, e, d) => ({ kind: "extra levels under its topic", topic: [`tide/ingest/${e}/${d}`, ...Array.from({ length: r.int(1, 3) }, () => junkLevel(r))].join("/"), closes: false }),
  (r, e, d) => ({ kind: "empty level", topic: [`tide/ingest/${e}/${d}/`, `tide//ingest/${e}/${d}`, `/tide/ingest/${e}/${d}`, `tide/ingest//${d}`][r.int(0, 3)]!, closes: false }),
  (r, e, d) => ({ kind: "longer device id", topic: `tide/ingest/${e}/${d}${junkLevel(r, 4)}`, closes: false }),
  (r, e) => ({ kind: "another device", topic: `tide/ingest/${e}/other-${r.int(0, 99)}`, closes: false }),
  (r, e, d) => ({ kind: "another edge", topic: `tide/ingest/${r.chance(0.5) ? `${e}${r.int(0, 9)}` : `x${junkLevel(r, 5)}`}/${d}`, closes: false }),
  (r, e, d) => ({ kind: "another family", topic: [`tide/reading/${e}/${d}/up`, `tide/command/${e}/${d}`, `tide/ack/${e}/${d}`, `tide/summary/${e}/${d}`, `tide/node/edge-${e}`, `tide/task/t-${r.int(0, 99)}`, `tide/probe/${d}`][r.int(0, 6)]!, closes: false }),
  (r) => ({ kind: "system topic", topic: [`$SYS/REQ/SERVER/PING`, `$MQTT/sub/${junkLevel(r)}`, `$JS/API/STREAM/DELETE/READINGS`, `$O/models/C/${junkLevel(r)}`, `_INBOX/${junkLevel(r)}`][r.int(0, 4)]!, closes: false }),
  (r, e, d) => ({ kind: "NATS wildcard characters", topic: [`tide/ingest/${e}/*`, `tide/ingest/${e}/>`, `tide/ingest/*/${d}`, `>`][r.int(0, 3)]!, closes: false }),
  (r) => ({ kind: "random levels", topic: Array.from({ length: r.int(1, 6) }, () => junkLevel(r)).join("/"), closes: false }),
  (r, e, d) => ({ kind: "long topic", topic: `tide/ingest/${e}/${d}/${"x".repeat(r.int(200, 4000))}`, closes: false }),
  (r, e, d) => ({ kind: "dot in the topic", topic: r.chance(0.5) ? `tide/ingest/${e}/${d}.${junkLevel(r, 4)}` : `tide.ingest.${e}.${d}`, closes: true }),
  (r, e, d) => ({ kind: "MQTT wildcard", topic: [`tide/ingest/${e}/+`, `tide/ingest/${e}/${d}/#`, `#`, `+/+/+/+`][r.int(0, 3)]!, closes: true }),
  (r, e, d) => ({ kind: "space in the topic", topic: `tide/ingest/${e}/${d}${r.chance(0.5) ? " " : ` ${junkLevel(r, 4)}`}`, closes: true }),
  () => ({ kind: "empty topic", topic: "", closes: true }),
];

/**
 * A request to a route that only reads (no body, no parameters it checks).
 * `content`: answered 200 with the route's content whatever the query string
 * or a body on a GET; `refused`: another method, answered 405 with a JSON
 * error; `closed`: Node's HTTP parser drops it (a method it does not know,
 * a request line over its 16 KiB limit), or it is answered with a 4xx.
 */
export interface ReadCase {
  kind: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  expect: "content" | "refused" | "closed";
}

/** A junk query string: odd keys and values, raw and broken percent-encoding, repeats, sometimes long. */
function junkQuery(r: Random): string {
  const pairs = Array.from({ length: r.int(1, 6) }, () => {
    const key = r.chance(0.3) ? ["limit", "window", "id", "since", "as-of", "__proto__", ""][r.int(0, 6)]! : encodeURIComponent(randomString(r, 8));
    const value = r.chance(0.3) ? ["%zz", "%00", "%", "-1", "1e309", "NaN", "[]", "{}"][r.int(0, 7)]! : encodeURIComponent(randomString(r, 16));
    return r.chance(0.2) ? key : `${key}=${value}`;
  });
  const query = pairs.join(r.chance(0.2) ? "&&" : "&");
  return r.chance(0.1) ? `${query}&pad=${"y".repeat(r.int(2000, 6000))}` : r.chance(0.1) ? `?${query}` : query;
}

export function createFuzz(seed: string) {
  const r = createRandom(seed);
  return {
    ingest(): IngestCase {
      return ingestKinds[r.int(0, ingestKinds.length - 1)]!(r);
    },
    mqtt(): IngestCase {
      return mqttKinds[r.int(0, mqttKinds.length - 1)]!(r);
    },
    /** A good reading on a topic `device` of `edge` may not publish to. */
    mqttTopic(edge: string, device: string): MqttTopicCase {
      const c = topicKinds[r.int(0, topicKinds.length - 1)]!(r, edge, device);
      // Never the device's own topic by chance (random levels): that one stores the reading.
      const topic = c.topic === `tide/ingest/${edge}/${device}` ? `${c.topic}/x` : c.topic;
      return { ...c, topic, data: encoder.encode(JSON.stringify({ ...goodReading(r), seq: r.int(1, 1e9) })) };
    },
    /** A request to one of the read-only `paths`. */
    read(paths: readonly string[]): ReadCase & { route: string } {
      const route = paths[r.int(0, paths.length - 1)]!;
      const pick = r.int(0, 9);
      if (pick <= 3) return { route, kind: "junk query", method: "GET", path: `${route}?${junkQuery(r)}`, expect: "content" };
      if (pick === 4) return { route, kind: "GET with a body", method: "GET", path: route, headers: { "content-type": r.chance(0.5) ? "application/json" : randomString(r, 10).replace(/[^\x21-\x7e]/g, "") || "x/y" }, body: randomBytes(r, 500), expect: "content" };
      if (pick <= 6) {
        const method = ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"][r.int(0, 4)]!;
        return { route, kind: "wrong method", method, path: r.chance(0.5) ? route : `${route}?${junkQuery(r)}`, headers: { "content-type": "application/json" }, body: r.chance(0.5) ? randomBytes(r, 300) : encoder.encode(JSON.stringify({ [`fuzz${r.int(0, 99)}`]: randomScalar(r) })), expect: "refused" };
      }
      if (pick === 7) return { route, kind: "HEAD", method: "HEAD", path: route, expect: "refused" };
      if (pick === 8) return { route, kind: "unknown method", method: ["FUZZ", "BREW", "GETS", `X${r.int(0, 999)}`][r.int(0, 3)]!, path: route, expect: "closed" };
      return { route, kind: "oversize request line", method: "GET", path: `${route}?q=${"z".repeat(r.int(17_000, 40_000))}`, expect: "closed" };
    },
    /** A body for `tide.offload.predict` (the edge → cloud joint-inference request). */
    offload(): Uint8Array {
      return r.chance(0.3) ? randomBytes(r, 200) : encoder.encode(JSON.stringify(r.chance(0.5) ? randomScalar(r) : { edge: randomScalar(r), device: randomScalar(r), window: randomScalar(r), extra: 1 }));
    },
    /** A request to one of `routes`, always malformed (strict bodies get an unknown field). */
    http(routes: readonly HttpRoute[]): HttpCase {
      const route = routes[r.int(0, routes.length - 1)]!;
      const pick = r.int(0, 7);
      if (pick === 0) return { kind: "unknown path", method: r.chance(0.5) ? "GET" : "POST", path: `/${randomString(r, 12).replace(/[^a-z0-9]/gi, "") || "nope"}-fuzz` };
      const other = route.method === "GET" ? "POST" : "GET";
      if (pick === 1 && !routes.some((x) => x.path === route.path && x.method === other)) {
        return { kind: "wrong method", method: other, path: route.path, contentType: "application/json", ...(other === "POST" ? { body: "{}" } : {}) };
      }
      if (route.method === "GET" && !route.params?.length) return { kind: "unknown path", method: "GET", path: `${route.path}/fuzz-${r.int(0, 999)}` };
      if (route.method === "GET") {
        const params = (route.params ?? []).map((p) => `${p}=${encodeURIComponent(r.chance(0.5) ? randomString(r, 10) + "!" : String(-r.int(1, 1e6)))}`);
        return { kind: "bad query", method: "GET", path: `${route.path}?${params.join("&")}` };
      }
      if (pick === 2) return { kind: "wrong content type", method: "POST", path: route.path, contentType: r.chance(0.5) ? "text/plain" : "application/x-www-form-urlencoded", body: "a=1" };
      if (pick === 3) return { kind: "not JSON", method: "POST", path: route.path, contentType: "application/json", body: randomBytes(r, 200) };
      if (pick === 4) return { kind: "oversize", method: "POST", path: route.path, contentType: "application/json", body: JSON.stringify({ pad: "x".repeat(70 * 1024) }) };
      if (pick === 5) return { kind: "not an object", method: "POST", path: route.path, contentType: "application/json", body: JSON.stringify(randomScalar(r)) };
      return { kind: "unknown field", method: "POST", path: route.path, contentType: "application/json", body: JSON.stringify({ [`fuzz${r.int(0, 999)}`]: randomScalar(r), epochs: randomScalar(r), kind: randomScalar(r) }) };
    },
  };
}
export type Fuzz = ReturnType<typeof createFuzz>;
