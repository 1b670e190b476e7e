/**
 * The benchmark suite (`npm run bench` -> `tide bench` -> here). Each benchmark
 * starts its own hub + edge on free ports in a temp dir, measures ours against
 * a raw ceiling on the same servers in the same run, and stops them. Writes
 * bench/results.json (merged by name) and BENCHMARKS.md.
 *
 *   --quick        small N, one run per side: a smoke check; prints, writes nothing unless --out
 *   --only a,b     only these benchmarks (ingest, projection, replay, replay1m, forward, edge, training, scheduler, rollout)
 *   --out DIR      write results.json and BENCHMARKS.md into DIR instead of the repo
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorMessage, UsageError } from "../src/errors.ts";
import { SIZES, type BenchContext } from "./context.ts";
import { edgeBenchmark } from "./edge.ts";
import { findings } from "./findings.ts";
import { forwardBenchmark } from "./forward.ts";
import { ingestBenchmark } from "./ingest.ts";
import { describeMachine } from "./machine.ts";
import { projectionBenchmark } from "./projection.ts";
import { replayBenchmark } from "./replay.ts";
import { replay1mBenchmark } from "./replay-1m.ts";
import { rolloutBenchmark } from "./rollout.ts";
import { schedulerBenchmark } from "./scheduler.ts";
import { trainingBenchmark } from "./training.ts";
import { mergeResults, readResults, renderMarkdown, writeReport } from "./report.ts";
import { createRssRecorder, rssOutcome } from "./rss.ts";
import type { BenchOutcome, BenchResult } from "./types.ts";

const BENCHMARKS = {
  ingest: ingestBenchmark,
  projection: projectionBenchmark,
  replay: replayBenchmark,
  replay1m: replay1mBenchmark,
  forward: forwardBenchmark,
  edge: edgeBenchmark,
  training: trainingBenchmark,
  scheduler: schedulerBenchmark,
  rollout: rolloutBenchmark,
} as const satisfies Record<string, (ctx: BenchContext) => Promise<BenchOutcome>>;
type BenchName = keyof typeof BENCHMARKS;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const USAGE = "usage: tide bench [--quick] [--only ingest,projection,replay,replay1m,forward,edge,training,scheduler,rollout] [--out DIR]";

function parseArgs(argv: string[]) {
  const known = new Set(["--quick", "--only", "--out"]);
  const unknownFlag = argv.find((arg, i) => !known.has(arg) && !["--only", "--out"].includes(argv[i - 1] ?? ""));
  if (unknownFlag !== undefined) throw new UsageError(`unknown argument '${unknownFlag}'\n${USAGE}`);
  const quick = argv.includes("--quick");
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const only = value("--only")?.split(",").map((s) => s.trim()) ?? Object.keys(BENCHMARKS);
  const unknown = only.filter((name) => !(name in BENCHMARKS));
  if (unknown.length) throw new UsageError(`unknown benchmark(s): ${unknown.join(", ")}\n${USAGE}`);
  return { quick, only: only as BenchName[], out: value("--out") };
}

async function main(argv: string[]): Promise<number> {
  const { quick, only, out } = parseArgs(argv);
  const date = new Date().toISOString();
  const machine = describeMachine();
  const started = performance.now();
  const ctx: BenchContext = {
    sizes: quick ? SIZES.quick : SIZES.full,
    rss: createRssRecorder(),
    progress: (message) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`),
  };
  ctx.progress(`tide bench${quick ? " --quick" : ""}: ${only.join(", ")} on ${machine.cpu} (${machine.cores} cores), node ${machine.node}, nats-server ${machine.natsServer}`);

  ctx.rss.mark("start-up");
  const outcomes: BenchOutcome[] = [];
  const failures: string[] = [];
  for (const name of only) {
    try {
      outcomes.push(await BENCHMARKS[name](ctx));
    } catch (error) {
      failures.push(`${name}: ${errorMessage(error)}`);
      ctx.progress(`${name} FAILED: ${errorMessage(error)}`);
    }
    ctx.rss.mark(name);
  }
  outcomes.push(rssOutcome(ctx.rss));

  const ours: BenchResult[] = outcomes.flatMap((o) => o.figures.map((f) => ({ ...f, date })));
  const dir = out ?? (quick ? undefined : ROOT);
  const paths = dir ? { results: join(dir, dir === ROOT ? "bench/results.json" : "results.json"), markdown: join(dir, "BENCHMARKS.md") } : undefined;
  const results = mergeResults(paths ? readResults(paths.results) : [], ours);
  const input = { date, machine, quick, results, outcomes, findings, failures };
  if (paths) {
    writeReport(paths, input);
    ctx.progress(`wrote ${paths.results} and ${paths.markdown}`);
  } else {
    process.stdout.write(renderMarkdown(input) + "\n");
  }
  for (const r of ours) {
    const ratio = r.ratio === undefined ? "" : `  ratio ${r.ratio} (target ${r.target})`;
    ctx.progress(`${r.name}: ${r.value} ${r.unit}${r.ceiling === undefined ? "" : ` vs ${r.ceiling}`}${ratio}`);
  }
  return failures.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`tide bench: ${errorMessage(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
