import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { loadavg } from "node:os";
import type { Machine } from "./machine.ts";
import type { BenchOutcome, BenchResult } from "./types.ts";

/** TensorFlow.js backend line: which backend(s) the figures that ran a model used. */
export function backendLine(results: readonly BenchResult[]): string {
  const backends = [...new Set(results.flatMap((r) => (r.backend === undefined ? [] : [r.backend])))];
  if (backends.length === 0) return "n/a for these benchmarks (none of them runs a model)";
  return `${backends.join(", ")} (chosen by the process that ran the model; see the backend column), n/a for the others`;
}

/** Units where a target is a ceiling (smaller is better) rather than a floor. */
const LOWER_IS_BETTER = new Set(["ms", "s", "MiB"]);

/** The number a target is compared with (the ratio when there is one), and whether it met it; undefined when there is no target. */
export function targetCheck(r: BenchResult): { compared: number; met: boolean } | undefined {
  if (r.target === undefined) return undefined;
  if (r.ratio !== undefined) return { compared: r.ratio, met: r.ratio >= r.target };
  return { compared: r.value, met: LOWER_IS_BETTER.has(r.unit) ? r.value <= r.target : r.value >= r.target };
}

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
  const check = targetCheck(r);
  if (!check) return "";
  return check.met ? "met" : "**missed**";
}

function table(results: readonly BenchResult[]): string {
  // A TensorFlow.js backend column only when some benchmark reports one.
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
  const misses = results.filter((r) => ours.has(r.name) && targetCheck(r)?.met === false);
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
    `- TensorFlow.js backend: ${backendLine(results)}`,
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
    for (const r of misses) {
      const shown = r.ratio === undefined ? `${num(r.value)} ${r.unit}` : num(r.ratio, 2);
      const bound = r.ratio === undefined && LOWER_IS_BETTER.has(r.unit) ? "at most " : "";
      lines.push(`- \`${r.name}\` = ${shown} (target ${bound}${r.target}). ${findings.get(r.name) ?? "Cause not yet investigated."}`);
    }
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
