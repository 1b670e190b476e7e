/**
 * The edge runtime benchmarks (issue 3 item 13): reading → decision latency at
 * 1,000 and 5,000 readings/s, the highest rate the runtime sustains with a
 * model active, the same readings as one HTTP `POST /predict` each, and the
 * runtime's peak RSS.
 *
 * Processes, all on this machine: the hub and edge-1 nats-servers
 * (`withTopology`), `tide cloud` (the joint-inference responder and cloud
 * projections) and `tide edge --id 1 --model FILE`, each a Node process of its
 * own, and this process as the devices. `TIDE_BENCH_EDGE_CPU_PROF=DIR` runs the
 * edge runtime under `--cpu-prof` and leaves its profile in DIR.
 */
import { mkdirSync } from "node:fs";
import { loadavg, setPriority } from "node:os";
import { withTopology, type BenchContext } from "./context.ts";
import { phaseLatency, type PhaseLatency } from "./edge-latency.ts";
import { createReadingSource, EDGE_DEVICES, httpPredictLoop, quantile } from "./edge-load.ts";
import { trainBenchModel } from "./edge-model.ts";
import { describeLatency, describePhase, fmt, int, runPhase, SUSTAINED_BACKLOG_SECONDS, type PhaseRun } from "./edge-phase.ts";
import { cpuMeter, currentRssMb, describeCpu, startTide, type TideProcess } from "./edge-processes.ts";
import { round } from "./measure.ts";
import { peakRssMb } from "./rss.ts";
import type { BenchFigure, BenchOutcome } from "./types.ts";

/** The rate points of the issue, readings/s. */
const RATES = [1000, 5000] as const;
/** The ramp stops when the highest rate sustained and the lowest not are this close (ratio). */
const RAMP_RESOLUTION = 1.15;
const RAMP_MAX_STEPS = 6;
/** A ramp step stops early once this many seconds of its load are undecided: it has failed. */
const RAMP_ABORT_BACKLOG_SECONDS = 1;
/** Concurrent HTTP callers: one per device, each waiting for its answer before sending its next reading. */
const HTTP_CONCURRENCY = EDGE_DEVICES;
/** Nice level of the stand-ins for the remote cloud (hub nats-server, `tide cloud`). */
const CLOUD_NICE = 10;

const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

/** edge.decision.*, edge.max.readings_per_s, edge.stream_vs_http.ratio, rss.edge-runtime.mb. */
export async function edgeBenchmark(ctx: BenchContext): Promise<BenchOutcome> {
  const { runs } = ctx.sizes;
  const pointSeconds = Math.max(2, ctx.sizes.edgeSeconds / 2);
  const stepSeconds = pointSeconds;
  const httpSeconds = pointSeconds;
  const loadAtStart = load1();
  return withTopology(ctx, { cloud: true }, async ({ topology, dir, edge, edgeDomain, connect }) => {
    ctx.progress("edge: training a small model");
    const model = await trainBenchModel(dir);
    ctx.progress(`edge: model ${model.version} (${int(model.samples)} windows, ${model.epochs} epochs, ${fmt(model.trainSeconds)} s, MAE ${fmt(model.mae, 3)} °C); starting tide cloud and tide edge`);

    const profDir = process.env.TIDE_BENCH_EDGE_CPU_PROF;
    if (profDir) mkdirSync(profDir, { recursive: true });
    const processes: TideProcess[] = [];
    try {
      const cloud = await startTide(["cloud", "--dir", dir], /cloud services up/);
      processes.push(cloud);
      const niced: string[] = [];
      for (const [name, pid] of [["tide cloud", cloud.pid], ["hub nats-server", topology.server("hub").pid]] as const) {
        try {
          if (pid !== undefined) setPriority(pid, CLOUD_NICE);
          niced.push(name);
        } catch {
          // not permitted: they compete at the same priority (said below)
        }
      }
      const runtime = await startTide(
        ["edge", "--id", edge, "--dir", dir, "--http-port", "0", "--model", model.file],
        /runtime up: backend (\S+), POST (\S+)\/predict/,
        profDir ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profDir] } : {},
      );
      processes.push(runtime);
      const backend = runtime.readyLine[1]!;
      const httpUrl = runtime.readyLine[2]!;
      ctx.progress(`edge: runtime pid ${runtime.pid} up (backend ${backend}, ${fmt(peakRssMb(runtime.pid) ?? Number.NaN)} MiB), HTTP ${httpUrl}`);

      const nc = await connect(edge);
      const jsm = await nc.jetstreamManager({ domain: edgeDomain });
      const pids = new Map<string, number>([["edge runtime", runtime.pid], ["tide cloud", cloud.pid]]);
      for (const [name, server] of topology.servers) if (server.pid !== undefined) pids.set(`${name} nats-server`, server.pid);
      const meter = cpuMeter(pids);
      const source = createReadingSource(4_000_000);
      const env = { nc, jsm, edge, source, meter };
      const rssAfter: string[] = [];
      const noteRss = (label: string) => rssAfter.push(`${label} ${fmt(peakRssMb(runtime.pid) ?? Number.NaN)} (${fmt(currentRssMb(runtime.pid) ?? Number.NaN)})`);
      noteRss("start-up");

      // Warm-up: every device's window fills past W + 1, so the model (not the baseline) decides from here on; the JIT warms.
      ctx.progress("edge: warm-up at 1,000/s");
      await runPhase(env, "warm-up", 1000, 2, { drainLimitMs: 30_000 });
      noteRss("warm-up");

      // Rate points: `runs` runs each (the one least disturbed by the rest of the machine counts); a rate not sustained runs once.
      const pointRuns = new Map<number, PhaseRun[]>();
      /** The runtime's peak up to and including its runs at 1,000/s (start-up, warm-up, 1,000/s): before any overload. */
      let peakAt1000: number | undefined;
      for (const rate of RATES) {
        const done: PhaseRun[] = [];
        for (let r = 0; r < runs; r++) {
          const run = await runPhase(env, `${int(rate)}/s run ${r + 1}`, rate, pointSeconds, { drainLimitMs: 90_000 });
          ctx.progress(`edge: ${run.label}: ${describePhase(run)}`);
          done.push(run);
          if (!run.sustained) break;
        }
        pointRuns.set(rate, done);
        noteRss(`${int(rate)}/s`);
        if (rate === 1000) peakAt1000 = peakRssMb(runtime.pid);
      }
      const allPoints = [...pointRuns.values()].flat();

      // Max sustained: geometric bisection between the highest rate sustained and the lowest not, ×1.5 up while none fails.
      // A rate is sustained when one of its runs was (the least disturbed one counts, as for the latencies).
      const steps: PhaseRun[] = [];
      const sustainedRuns = () => [...allPoints, ...steps].filter((p) => p.sustained);
      let lo = Math.max(0, ...sustainedRuns().map((p) => p.rate));
      let hi = Math.min(Number.POSITIVE_INFINITY, ...[...allPoints, ...steps].filter((p) => !p.sustained && p.rate > lo).map((p) => p.rate));
      for (let i = 0; i < RAMP_MAX_STEPS && !(lo > 0 && hi / lo < RAMP_RESOLUTION); i++) {
        const next = lo === 0 ? hi / 2 : Number.isFinite(hi) ? Math.sqrt(lo * hi) : lo * 1.5;
        const rate = Math.round(next / 50) * 50;
        const run = await runPhase(env, `ramp ${int(rate)}/s`, rate, stepSeconds, { drainLimitMs: 60_000, abortAboveBacklogSeconds: RAMP_ABORT_BACKLOG_SECONDS });
        ctx.progress(`edge: ${run.label}: ${describePhase(run)}`);
        steps.push(run);
        if (run.sustained) lo = Math.max(lo, rate);
        else if (rate > lo) hi = Math.min(hi, rate);
      }
      noteRss("ramp");
      const best = sustainedRuns().filter((p) => p.rate === lo)[0];
      const maxRate = lo;

      // The same readings as one POST /predict each, against the same runtime: 1 s warm-up, `concurrency` callers, then one.
      ctx.progress(`edge: HTTP POST /predict, ${HTTP_CONCURRENCY} callers`);
      const httpFrom = best?.firstReading ?? 0;
      await httpPredictLoop(httpUrl, httpFrom, HTTP_CONCURRENCY, 1);
      const httpCpu = meter.start();
      const http = await httpPredictLoop(httpUrl, httpFrom, HTTP_CONCURRENCY, httpSeconds);
      const httpShares = httpCpu.stop();
      const single = await httpPredictLoop(httpUrl, httpFrom, 1, Math.max(1, httpSeconds / 2));
      noteRss("HTTP");
      const httpRate = http.calls / http.seconds;
      const singleRate = single.calls / single.seconds;
      ctx.progress(`edge: HTTP ${int(httpRate)}/s with ${HTTP_CONCURRENCY} callers (${http.failures} failed), ${int(singleRate)}/s with one`);
      const rssMb = peakRssMb(runtime.pid);
      const loadAtEnd = load1();

      // Latencies, from the streams, after the load.
      ctx.progress("edge: reading the streams back for latencies");
      const latencyOf = new Map<PhaseRun, PhaseLatency>();
      for (const run of [...allPoints, ...(best && !allPoints.includes(best) ? [best] : [])]) latencyOf.set(run, await phaseLatency(nc, edgeDomain, run.range, source.sentAt));
      const bestAt = (rate: number) => {
        const candidates = (pointRuns.get(rate) ?? []).map((run) => ({ run, latency: latencyOf.get(run)! }));
        return candidates.reduce((a, b) => (b.latency.pipeline.p99 < a.latency.pipeline.p99 ? b : a));
      };
      const at1000 = bestAt(1000);
      const at5000 = bestAt(5000);
      for (const [run, l] of latencyOf) ctx.progress(`edge: ${run.label}: ${describeLatency(l)}`);

      const withBackend = (f: BenchFigure): BenchFigure => ({ ...f, backend });
      const ms = (v: number) => round(v, 2);
      const figures: BenchFigure[] = [
        withBackend({ name: "edge.decision.p50.ms@1000", value: ms(at1000.latency.pipeline.p50), unit: "ms" }),
        withBackend({ name: "edge.decision.p99.ms@1000", value: ms(at1000.latency.pipeline.p99), unit: "ms", target: 10 }),
        withBackend({ name: "edge.decision.p50.ms@5000", value: ms(at5000.latency.pipeline.p50), unit: "ms" }),
        withBackend({ name: "edge.decision.p99.ms@5000", value: ms(at5000.latency.pipeline.p99), unit: "ms" }),
        withBackend({ name: "edge.max.readings_per_s", value: maxRate, unit: "readings/s" }),
        withBackend({ name: "edge.stream_vs_http.ratio", value: maxRate, unit: "readings/s", ceiling: Math.round(httpRate), ratio: round(maxRate / httpRate, 2), target: 10 }),
        withBackend({ name: "rss.edge-runtime.mb", value: round(rssMb ?? Number.NaN, 1), unit: "MiB", target: 200 }),
        withBackend({ name: "rss.edge-runtime.mb@1000", value: round(peakAt1000 ?? Number.NaN, 1), unit: "MiB" }),
      ];
      const runtimeCpuAt1000 = at1000.run.cpu.get("edge runtime")?.cpu ?? Number.NaN;
      const cpuPerReadingUs = (runtimeCpuAt1000 / 100 / at1000.run.decidedPerSecond) * 1e6;
      const httpP = (s: Float64Array, q: number) => fmt(quantile(s, q) ?? Number.NaN, 2);
      const pointLine = (rate: number) =>
        (pointRuns.get(rate) ?? []).map((run) => `${run.label.replace(/^.* run /, "run ")} p50 ${fmt(latencyOf.get(run)!.pipeline.p50, 2)} / p99 ${fmt(latencyOf.get(run)!.pipeline.p99, 2)} ms`).join("; ");
      return {
        figures,
        title: "Edge runtime (`edge.decision.*`, `edge.max.readings_per_s`, `edge.stream_vs_http.ratio`, `rss.edge-runtime.mb`)",
        how: [
          "`tide edge --id 1 --model FILE` runs as a process of its own against the edge-1 leaf node, and `tide cloud` (joint-inference",
          "responder, cloud projections) as another, as `tide up --servers-only` + `tide edge` + `tide cloud` run them. The runtime chose its",
          "TensorFlow.js backend itself (`TIDE_TF_BACKEND` unset) and runs everything `tide edge` runs: ingest, local projections, the",
          "distribution policy (the default: every reading forwarded raw), heartbeats, joint inference (offload at anomaly score ≥ 4).",
          `The hub nats-server and \`tide cloud\` stand in for the remote cloud: they run at nice ${CLOUD_NICE}, so on this machine they use CPU`,
          "the edge side leaves over, as on a separate machine.",
          `The model is real and small: the trainer's residual network (window ${model.window}, hidden ${model.hidden.join(" → ")}), trained here`,
          `for ${model.epochs} epochs on ${int(model.samples)} windows from the same generator the devices use and activated from its artifact at`,
          "start-up; a 2 s warm-up at 1,000/s fills every device's window, so the model (not the baseline) makes every inference measured.",
          `This process plays ${EDGE_DEVICES} devices: an open-loop generator at a fixed rate (a 1 ms timer; each tick publishes the readings`,
          "due by then, so a late tick makes a bigger batch, never a lower rate), one plain NATS publish per reading on its device's ingest",
          "subject (`tide.ingest.1.<device>`, JSON `{ts, seq, temperature, humidity}`), readings round-robin over the devices.",
          "\n\n**Reading → decision latency** runs from the JetStream stored timestamp of the reading in the edge READINGS to the stored",
          "timestamp of the last event the pipeline appends for it in INFERENCES: its inference event and, when the cooling action changes,",
          "its decision and command events. The pipeline acks the reading only once these are stored, so this is the moment the decision is",
          "durable and the command on its way to the device. Both timestamps are the edge server's, read back from the streams after all the",
          "load (nothing is measured inside the runtime, and measuring adds no load); it is what the pipeline's own recorder",
          "(`pipeline.latency`) measures, less the ack's trip back to the runtime. End-to-end latency from the device's publish (this",
          "process's clock, same machine) is in the details. Each rate point runs",
          `${runs} time(s) for ${pointSeconds} s (a rate not sustained runs once); every reading of a run counts, and the run with the lowest p99`,
          "counts, as the one least disturbed by the rest of the machine (all runs are listed).",
          `\n\n**Max sustained readings/s**: ${stepSeconds} s steps, a geometric bisection between the highest rate sustained so far and the`,
          `lowest not (×1.5 up while none failed) until they are within ×${RAMP_RESOLUTION}; a run is sustained when, as the generator stops,`,
          `at most ${SUSTAINED_BACKLOG_SECONDS} s of its load is still undecided (the pipeline's durable consumer: delivered − ack pending) and`,
          `every reading is stored and decided; a step more than ${RAMP_ABORT_BACKLOG_SECONDS} s behind stops early as failed.`,
          "**HTTP**: the same readings (from the max sustained run's first reading on), each as one",
          "`POST /predict` to the same runtime carrying its device's window (the reading and the 8 before it, what the pipeline feeds the",
          `model), ${HTTP_CONCURRENCY} callers on keep-alive connections in a closed loop (a device sends its next reading when its answer`,
          `arrives), ${httpSeconds} s after a 1 s warm-up; the ratio is max sustained streaming readings/s ÷ HTTP readings/s.`,
          "**RSS**: `VmHWM` of the runtime process (`/proc/<pid>/status`) after every phase, i.e. its peak over all of them, overload included; `rss.edge-runtime.mb@1000` is the same read right after the 1,000/s runs " +
            "(its peak over start-up, warm-up and 1,000/s, before any overload). The runtime runs as `tide edge` does when run as a command: " +
            "with the Node flags of bin/tide.js's #! line.",
          "All processes share the machine's cores; the CPU shares below (% of one core, from `/proc`) show who used what, `other` being",
          "work outside this benchmark.",
        ].join(" ").replace(/ ?\n\n ?/g, "\n\n"),
        details: [
          `Machine load: 1-minute load average ${loadAtStart} when the edge benchmark began, ${loadAtEnd} when its load ended (2 cores).`,
          `1,000/s (best run): ${describeLatency(at1000.latency)}. All runs: ${pointLine(1000)}.`,
          `5,000/s (best run): ${describeLatency(at5000.latency)}. All runs: ${pointLine(5000)}.` +
            (at5000.run.sustained
              ? ""
              : ` 5,000/s is above what the runtime sustained here (${int(maxRate)}/s), so these latencies are the queue that built up while ` +
                `it was offered (${int(at5000.run.decidedPerSecond)}/s decided meanwhile): they grow with the run's length and say nothing about the pipeline's own speed.`),
          ...[...allPoints, ...steps].map((p) => `${p.label}: ${describePhase(p)}; worst generator tick gap ${fmt(p.worstTickGapMs, 1)} ms.`),
          ...(best && !allPoints.includes(best) ? [`At the max sustained rate (${int(maxRate)}/s): ${describeLatency(latencyOf.get(best)!)}.`] : []),
          `Edge runtime CPU per decided reading at 1,000/s: ${fmt(cpuPerReadingUs, 0)} µs (${fmt(runtimeCpuAt1000, 0)}% of a core), i.e. about ` +
            `${int(1e6 / cpuPerReadingUs)} readings/s if it had a whole core to itself: the runtime is one Node.js thread, which caps its throughput.`,
          `HTTP \`POST /predict\`: ${int(httpRate)} readings/s with ${HTTP_CONCURRENCY} callers (${int(http.calls)} calls, ${http.failures} failed; ` +
            `per call p50 ${httpP(http.latenciesMs, 0.5)} ms, p99 ${httpP(http.latenciesMs, 0.99)} ms; CPU ${describeCpu(httpShares)}); ` +
            `${int(singleRate)} readings/s with one caller (p50 ${httpP(single.latenciesMs, 0.5)} ms). An HTTP call only predicts: it stores no ` +
            "reading, inference, decision or command, which the streaming path does for every reading.",
          `Edge runtime peak RSS (and current) after each phase, MiB: ${rssAfter.join(", ")}.`,
          `Model ${model.version}: MAE ${fmt(model.mae, 3)} °C, residual std ${fmt(model.residualStd, 3)} °C on its training windows, trained in ` +
            `${fmt(model.trainSeconds)} s (this process, ${model.backend}); the runtime ran it on ${backend}. ` +
            (niced.length === 2 ? "" : `Could not renice ${["tide cloud", "hub nats-server"].filter((n) => !niced.includes(n)).join(", ")}: they ran at the default priority.`),
        ],
      };
    } finally {
      for (const p of processes.reverse()) await p.stop();
    }
  });
}
