import { describe, expect, it } from "vitest";
import { gapFindings, type StreamShape } from "./gaps.ts";
import { sourceSeqOf } from "./scan.ts";
import { unionFindings, type IdEntry, type PartScan } from "./union.ts";

const GiB = 1024 ** 3;
const DAY_NS = 86_400 * 1e9;
const NOW = Date.parse("2026-11-25T12:00:00Z");

function shape(name: string, state: Partial<StreamShape["state"]>, config: Partial<StreamShape["config"]> = {}, created = "2026-11-25T11:00:00Z"): StreamShape {
  return {
    created,
    config: { name, max_age: 7 * DAY_NS, max_bytes: GiB, max_msgs: -1, ...config },
    state: { messages: 10, bytes: 4000, first_seq: 1, last_seq: 10, ...state },
  };
}

describe("gapFindings", () => {
  it("finds nothing in a dense stream", () => {
    expect(gapFindings("cloud", shape("READINGS", {}), NOW)).toEqual([]);
  });

  it("calls a message deleted from the middle a violation, with its seq", () => {
    const [f] = gapFindings("cloud", shape("READINGS", { messages: 9, num_deleted: 1, deleted: [4] }), NOW);
    expect(f).toMatchObject({ check: "gaps", severity: "violation", stream: "READINGS", details: { deleted: [4] } });
    expect(f!.message).toMatch(/1 message\(s\) missing inside seq 1\.\.10/);
  });

  it("explains Object Store gaps (objects are replaced chunk by chunk)", () => {
    expect(gapFindings("cloud", shape("OBJ_models", { messages: 2, first_seq: 3, last_seq: 5, num_deleted: 1, deleted: [4] }), NOW)).toEqual([]);
  });

  it("explains a trimmed front by the limit that trimmed it, and flags one no limit explains", () => {
    // A stream older than its max_age: ageing out explains it.
    const aged = gapFindings("edge-1", shape("READINGS", { first_seq: 6 }, { max_age: 1e9 }), NOW);
    expect(aged).toEqual([expect.objectContaining({ severity: "warning", message: expect.stringMatching(/seq 1\.\.5 removed by retention \(max_age 1 s\)/) })]);
    // Full to max_bytes.
    const full = gapFindings("edge-1", shape("READINGS", { first_seq: 6, messages: 5, bytes: 1000 }, { max_bytes: 2000 }), NOW);
    expect(full[0]).toMatchObject({ severity: "warning" });
    // An hour-old stream far below its limits whose first 5 messages are gone: purged.
    const purged = gapFindings("cloud", shape("READINGS", { first_seq: 6, messages: 5 }), NOW);
    expect(purged).toEqual([expect.objectContaining({ severity: "violation", message: expect.stringMatching(/seq 1\.\.5 removed although no retention limit was reached/) })]);
  });
});

describe("sourceSeqOf", () => {
  it("reads the origin sequence of a sourced message", () => {
    expect(sourceSeqOf("UPLINK:6LmyhmDQ 42")).toBe(42);
    expect(sourceSeqOf("READINGS 7")).toBe(7);
    expect(sourceSeqOf(undefined)).toBeUndefined();
    expect(sourceSeqOf("garbage")).toBeUndefined();
  });
});

const reading = (edge: string, n: number, seq = n, sourceSeq?: number): IdEntry => ({ id: `${edge}-${n}`, seq, subject: `tide.reading.${edge}.d1.up`, ...(sourceSeq ? { sourceSeq } : {}) });
const part = (edge: string, entries: IdEntry[], extra: Partial<PartScan> = {}): PartScan => ({ edge, domain: `edge-${edge}`, stream: "UPLINK", firstSeq: entries[0]?.seq ?? 1, entries, ...extra });
const agg = (entries: IdEntry[]) => ({ domain: "cloud", stream: "READINGS", entries });

describe("unionFindings", () => {
  const edge1 = [1, 2, 3].map((n) => reading("1", n));
  const edge2 = [1, 2].map((n) => reading("2", n));
  const cloud = [reading("1", 1, 1, 1), reading("2", 1, 2, 1), reading("1", 2, 3, 2), reading("1", 3, 4, 3), reading("2", 2, 5, 2)];

  it("accepts a cloud that holds exactly the edges' messages", () => {
    expect(unionFindings(agg(cloud), [part("1", edge1), part("2", edge2)])).toEqual([]);
  });

  it("reports a lost message by id, a duplicate, and a message no edge sent", () => {
    const lost = cloud.filter((e) => e.id !== "1-2");
    const twice = [...cloud, { ...reading("2", 2, 6, 2) }];
    const stranger = [...cloud, reading("1", 99, 6, 4)];
    expect(unionFindings(agg(lost), [part("1", edge1), part("2", edge2)])).toEqual([
      expect.objectContaining({ severity: "violation", message: "1 event(s) of edge 1's UPLINK are missing (lost)", details: { ids: ["1-2"], edgeSeqs: [2] } }),
    ]);
    expect(unionFindings(agg(twice), [part("1", edge1), part("2", edge2)])).toEqual([
      expect.objectContaining({ severity: "violation", message: "1 event id(s) stored more than once", details: { duplicates: { "2-2": [5, 6] } } }),
    ]);
    expect(unionFindings(agg(stranger), [part("1", edge1), part("2", edge2)])).toEqual([
      expect.objectContaining({ severity: "violation", message: "1 event(s) attributed to edge 1 are not in its UPLINK", details: { ids: ["1-99"], seqs: [6] } }),
    ]);
  });

  it("explains what the edge dropped by retention and what is still in flight", () => {
    const trimmedEdge = part("1", edge1.slice(1), { firstSeq: 2 });
    expect(unionFindings(agg(cloud), [trimmedEdge, part("2", edge2)])).toEqual([
      expect.objectContaining({ severity: "warning", message: expect.stringMatching(/1 event\(s\) of edge 1 are older than what its UPLINK still keeps/) }),
    ]);
    const notYet = cloud.filter((e) => e.id !== "1-3");
    expect(unionFindings(agg(notYet), [part("1", edge1, { inFlightAbove: 2 }), part("2", edge2)])).toEqual([
      expect.objectContaining({ severity: "warning", message: expect.stringMatching(/1 event\(s\) of edge 1's UPLINK not forwarded yet/) }),
    ]);
  });

  describe("when the cloud trimmed its own front", () => {
    const byAge = { removedUpToMs: NOW - 60_000, reasons: ["max_age 3600 s"] };
    // The cloud kept edge 1 from its seq 2 on (seq 1 trimmed), and all of edge 2.
    const kept = cloud.filter((e) => e.id !== "1-1");

    it("calls the edge's events below the oldest copy it keeps trimmed by retention, a warning", () => {
      expect(unionFindings({ ...agg(kept), trimmed: byAge }, [part("1", edge1), part("2", edge2)])).toEqual([
        expect.objectContaining({
          check: "union",
          severity: "warning",
          message: "1 event(s) of edge 1's UPLINK are older than what the READINGS still keeps from it (edge seq < 2): trimmed by retention (max_age 3600 s)",
          details: { ids: ["1-1"], edgeSeqs: [1] },
        }),
      ]);
    });

    it("still calls an event lost when a newer one of the same edge is kept (a trim only removes a prefix)", () => {
      const gap = kept.filter((e) => e.id !== "1-3");
      const findings = unionFindings({ ...agg(gap), trimmed: byAge }, [part("1", edge1), part("2", edge2)]);
      expect(findings.map((f) => [f.severity, f.details?.ids])).toEqual([
        ["warning", ["1-1"]],
        ["violation", ["1-3"]],
      ]);
      expect(findings[1]!.message).toMatch(/missing \(lost\)/);
    });

    it("without a trim every missing event is lost, whatever its age", () => {
      expect(unionFindings(agg(kept), [part("1", edge1), part("2", edge2)])).toEqual([expect.objectContaining({ severity: "violation", message: "1 event(s) of edge 1's UPLINK are missing (lost)" })]);
    });

    it("agrees with the gap check: a front no limit explains (purged) is a violation", () => {
      expect(unionFindings({ ...agg(kept), trimmed: { ...byAge, reasons: [] } }, [part("1", edge1), part("2", edge2)])).toEqual([
        expect.objectContaining({ severity: "violation", message: expect.stringMatching(/edge seq < 2\): removed although no retention limit was reached/) }),
      ]);
    });

    it("keeping nothing of an edge, goes by time: stored before what the cloud removed is trimmed, after it is lost", () => {
      const cutoff = NOW - 60_000;
      const stamped = [reading("2", 1), reading("2", 2)].map((e, i) => ({ ...e, storedAtMs: i === 0 ? cutoff - 1 : cutoff + 1 }));
      const onlyEdge1 = cloud.filter((e) => e.subject.startsWith("tide.reading.1."));
      const findings = unionFindings({ ...agg(onlyEdge1), trimmed: { removedUpToMs: cutoff, reasons: ["max_bytes 1024"] } }, [part("1", edge1), part("2", stamped)]);
      expect(findings).toEqual([
        expect.objectContaining({ severity: "warning", message: expect.stringMatching(/^1 event\(s\) of edge 2's UPLINK .*\(stored at or before .*\): trimmed by retention \(max_bytes 1024\)/), details: { ids: ["2-1"], edgeSeqs: [1] } }),
        expect.objectContaining({ severity: "violation", message: "1 event(s) of edge 2's UPLINK are missing (lost)", details: { ids: ["2-2"], edgeSeqs: [2] } }),
      ]);
    });
  });

  it("cannot vouch for an edge it could not read", () => {
    expect(unionFindings(agg(cloud), [part("1", edge1), part("2", [], { unreachable: "connection refused" })])).toEqual([
      expect.objectContaining({ check: "reach", severity: "violation", domain: "edge-2" }),
    ]);
  });
});
