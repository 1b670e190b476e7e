import { z } from "zod";
import type { TaskKind } from "./registry.ts";

const Payload = z
  .object({
    /** How long the task runs (ms). */
    ms: z.number().int().nonnegative().max(3_600_000),
    /** Progress reports over the run (default 10). */
    steps: z.number().int().positive().max(1000).default(10),
  })
  .strict();

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new Error("aborted"));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason ?? new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Synthetic workloads for tests, benchmarks and trying the scheduler out: not
 * registered by default. Load them into a worker with
 * `tide worker --module src/tasks/kinds/synthetic.ts`.
 *
 * - `synthetic.wait`: holds its slot for `payload.ms`, reporting progress
 *   (an I/O-bound task: it leaves the CPU free);
 * - `synthetic.spin`: keeps a CPU busy for `payload.ms` (compute-bound).
 */
export const kinds: TaskKind[] = [
  {
    kind: "synthetic.wait",
    description: "hold a slot for payload.ms, reporting progress",
    payload: Payload,
    async handler(ctx) {
      const { ms, steps } = ctx.payload as z.infer<typeof Payload>;
      for (let i = 1; i <= steps; i++) {
        await sleep(ms / steps, ctx.signal);
        if (i < steps) ctx.progress(i / steps);
      }
      return { waitedMs: ms };
    },
  },
  {
    kind: "synthetic.spin",
    description: "keep a CPU busy for payload.ms",
    payload: Payload,
    async handler(ctx) {
      const { ms, steps } = ctx.payload as z.infer<typeof Payload>;
      let spins = 0;
      for (let i = 1; i <= steps; i++) {
        const until = performance.now() + ms / steps;
        while (performance.now() < until) spins++;
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error("aborted");
        if (i < steps) ctx.progress(i / steps);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return { spins };
    },
  },
];
