import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { loadavg } from "node:os";
import type { Machine } from "./machine.ts";
import type { BenchOutcome, BenchResult } from "./types.ts";

/** TensorFlow.js backend line: none of these benchmarks runs a model. */
export const BACKEND_LINE = "n/a for these benchmarks (none of them runs a model)";

/** Keep other benchmarks' entries; replace those with the same names as `ours`. */
export function mergeResults(existing: readonly BenchResult[], ours: readonly BenchResult[]): BenchResult[] {
  const replaced = new Set(ours.map((r) => r.name));
  return [...existing.filter((r) => !replaced.has(r.name)), ...ours];
}

export function readResults(path: string): BenchResult[] {
  if (!existsSync(path)) return [];
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!Array.isArray(parsed)) throw new Error(`${path} is not a JSON array of results`);
  return parsed as BenchResult[];
}

const num = (value: number | undefined, digits?: number) =>
  value === undefined ? "" : value.toLocaleString("en-US", digits === undefined ? {} : { maximumFractionDigits: digits, minimumFractionDigits: digits });

function verdict(r: BenchResult): string {
  if (r.target === undefined || r.ratio === undefined) return "";
  return r.ratio >= r.target ? "met" : "**missed**";
}

function table(results: readonly BenchResult[]): string {
  // A TensorFlow.js backend column only when some benchmark (not these) reports one.
  const backend = results.some((r) => r.backend !== undefined);
  const rows = results.map((r) =>
    [
      `\`${r.name}\``,
      num(r.value),
      r.unit,
      num(r.ceiling),
      num(r.ratio, r.ratio === undefined ? undefined : 2),
      num(r.target),
      verdict(r),
      ...(backend ? [r.backend ?? ""] : []),
      r.date.slice(0, 10),
    ].join(" | "),
  );
  const header = ["figure", "value", "unit", "ceiling", "ratio", "target", "", ...(backend ? ["backend"] : []), "date"];
  const align = ["---", "---:", "---", "---:", "---:", "---:", "---", ...(backend ? ["---"] : []), "---"];
  return [`| ${header.join(" | ")} |`, `|${align.join("|")}|`, ...rows.map((r) => `| ${r} |`)].join("\n");
}

export interface ReportInput {
  date: string;
  machine: Machine;
  quick: boolean;
  /** Every result, ours merged into the earlier file's. */
  results: readonly BenchResult[];
  outcomes: readonly BenchOutcome[];
  /** Why a figure missed its target, by figure name (see bench/findings.ts). */
  findings: ReadonlyMap<string, string>;
  failures: readonly string[];
}

/** BENCHMARKS.md: for people. */
export function renderMarkdown(input: ReportInput): string {
  const { date, machine, quick, results, outcomes, findings, failures } = input;
  const ours = new Set(outcomes.flatMap((o) => o.figures.map((f) => f.name)));
  const misses = results.filter((r) => ours.has(r.name) && r.ratio !== undefined && r.target !== undefined && r.ratio < r.target);
  const lines = [
    "# Tide benchmarks",
    "",
    `Written by \`npm run bench\` (bench/run.ts)${quick ? " in **--quick** mode (small N: a smoke check, not figures)" : ""}; ` +
      "machine-readable copy in `bench/results.json`. Every ratio is ours divided by a raw ceiling measured in the same run on the same servers.",
    "",
    "## Machine",
    "",
    `- Run: ${date}`,
    `- CPU: ${machine.cpu}, ${machine.cores} cores`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- Node.js ${machine.node}, nats-server ${machine.natsServer}`,
    `- TensorFlow.js backend: ${BACKEND_LINE}`,
    `- 1-minute load average: ${machine.loadAtStart} at the start, ${Math.round(loadavg()[0]! * 100) / 100} at the end ` +
      "(the benchmark itself keeps about two processes busy; more means other work shared the machine).",
    "",
    "## Results",
    "",
    table(results),
    "",
  ];
  if (failures.length) lines.push("## Failed", "", ...failures.map((f) => `- ${f}`), "");
  if (misses.length) {
    lines.push("## Missed targets", "");
    for (const r of misses) lines.push(`- \`${r.name}\` = ${num(r.ratio, 2)} (target ${r.target}). ${findings.get(r.name) ?? "Cause not yet investigated."}`);
    lines.push("");
  }
  lines.push("## How each figure was measured", "");
  for (const o of outcomes) {
    lines.push(`### ${o.title}`, "", o.how, "", ...o.details.map((d) => `- ${d}`), "");
  }
  return lines.join("\n");
}

export function writeReport(paths: { results: string; markdown: string }, input: ReportInput): void {
  for (const path of [paths.results, paths.markdown]) mkdirSync(dirname(path), { recursive: true });
  writeFileSync(paths.results, JSON.stringify(input.results, null, 2) + "\n");
  writeFileSync(paths.markdown, renderMarkdown(input));
}
