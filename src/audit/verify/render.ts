import type { VerifyReport } from "./findings.ts";

const TITLES = {
  reach: "servers and streams reachable",
  union: "cloud = union of the edges (READINGS ← UPLINK, MODELS ← REPORTS), by event id",
  gaps: "no unexplained sequence gaps",
  artifacts: "artifacts match their published digests",
  schema: "every stored event passes its schema",
  origin: "every event the cloud sourced from an edge names that edge",
} as const;

const UNITS = { reach: "place(s)", union: "id(s) compared", gaps: "stream(s)", artifacts: "artifact(s)", schema: "message(s)", origin: "sourced message(s)" } as const;

/** `tide audit verify` for people: one line per check, then every finding. */
export function renderVerifyReport(report: VerifyReport): string {
  const lines = [`tide audit verify at ${report.checkedAt}: ${report.ok ? "OK" : "VIOLATIONS FOUND"}`];
  for (const check of Object.keys(TITLES) as Array<keyof typeof TITLES>) {
    const mine = report.findings.filter((f) => f.check === check);
    const violations = mine.filter((f) => f.severity === "violation").length;
    const warnings = mine.length - violations;
    const verdict = violations ? `FAIL (${violations} violation(s))` : "ok";
    lines.push(`  ${verdict.padEnd(20)} ${TITLES[check]} — ${report.checked[check]} ${UNITS[check]}${warnings ? `, ${warnings} warning(s)` : ""}`);
  }
  for (const f of report.findings) {
    const where = `${f.domain}${f.stream ? ` ${f.stream}` : ""}`;
    lines.push(`${f.severity === "violation" ? "VIOLATION" : "warning"} [${f.check}] ${where}: ${f.message}${f.details ? `  ${JSON.stringify(f.details)}` : ""}`);
  }
  return lines.join("\n");
}
