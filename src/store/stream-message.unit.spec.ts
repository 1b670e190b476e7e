import { describe, expect, it } from "vitest";
import { parseAckSubject } from "./stream-message.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

/** What nats.js's own parseInfo reads from the same subject (jetstream/jsmsg.js), for comparison. */
function natsInfo(s: string) {
  const tokens = s.split(".");
  if (tokens.length === 9) tokens.splice(2, 0, "_", "");
  return { seq: parseInt(tokens[7]!, 10), deliverySeq: parseInt(tokens[8]!, 10), nanos: parseInt(tokens[9]!, 10), pending: parseInt(tokens[10]!, 10) };
}

describe("parseAckSubject", () => {
  it.each([
    ["the 9-token form", "$JS.ACK.READINGS.tide_abc.1.123456.77.1735689600123456789.42"],
    ["the 12-token form (domain, account hash, final token)", "$JS.ACK.edge-1.ACCHASH.READINGS.tide_abc.1.123456.77.1735689600123456789.42.xyz"],
    ["a time within the first millisecond", "$JS.ACK.S.c.1.1.1.999.0"],
    ["a nine-digit time", "$JS.ACK.S.c.1.1.1.123456789.0"],
  ])("reads sequence, delivery sequence, stored time and pending from %s as nats.js does", (_, subject) => {
    const info = parseAckSubject(bytes(subject))!;
    const expected = natsInfo(subject);
    expect(info.seq).toBe(expected.seq);
    expect(info.deliverySeq).toBe(expected.deliverySeq);
    expect(info.pending).toBe(expected.pending);
    expect(info.storedAtMs).toBe(Math.floor(expected.nanos / 1e6));
    expect(info.storedAtMs * 1e6 + info.storedAtSubMs).toBeCloseTo(expected.nanos, -3);
  });

  it("keeps the stored millisecond exact where the nanoseconds are beyond a double", () => {
    // 1735689600999999999 ns as a double rounds up to ...601000 ms; the millisecond is ...600999.
    expect(parseAckSubject(bytes("$JS.ACK.S.c.1.5.5.1735689600999999999.0"))).toEqual({ seq: 5, deliverySeq: 5, storedAtMs: 1735689600999, storedAtSubMs: 999999, pending: 0 });
  });

  it.each([
    ["an inbox", "_INBOX.abc.def"],
    ["too few tokens", "$JS.ACK.S.c.1.5.5.0"],
    ["too many tokens", "$JS.ACK.a.b.c.d.S.c.1.5.5.0.0"],
    ["a token that is not a number", "$JS.ACK.S.c.1.x.5.1735689600000000000.0"],
    ["an empty token", "$JS.ACK.S.c.1..5.1735689600000000000.0"],
    ["a negative number", "$JS.ACK.S.c.1.-5.5.1735689600000000000.0"],
    ["another prefix", "$JS.NAK.S.c.1.5.5.1735689600000000000.0"],
    ["nothing", ""],
  ])("is undefined for %s", (_, subject) => {
    expect(parseAckSubject(bytes(subject))).toBeUndefined();
  });
});
