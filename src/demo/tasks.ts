import type { NatsConnection } from "nats";
import { errorMessage } from "../errors.ts";
import { CLOUD_DOMAIN, edgeDomain } from "../ids.ts";
import type { Logger } from "../log.ts";
import { submitTask } from "../tasks/index.ts";

/** Readings a demo task reads: the newest this many of its stream. */
const TASK_READINGS = 500;

/** The newest TASK_READINGS of a place's READINGS, as a task's data range. */
async function newestRange(nc: NatsConnection, edge: string | undefined) {
  const jsm = await nc.jetstreamManager({ domain: edge ? edgeDomain(edge) : CLOUD_DOMAIN });
  const { last_seq } = (await jsm.streams.info("READINGS")).state;
  return { ...(edge ? { edge } : {}), fromSeq: Math.max(1, last_seq - TASK_READINGS + 1), toSeq: last_seq };
}

/** What the demo submits, in turn: work on an edge's data, and work on the cloud's. */
function nextRequest(n: number, edges: readonly string[]) {
  const edge = edges[n % edges.length]!;
  switch (n % 3) {
    case 0:
      return { kind: "aggregate", priority: 5, edge };
    case 1:
      return { kind: "batch_inference", priority: 6, edge, payload: { anomalyScore: 4 } };
    default:
      return { kind: "aggregate", priority: 3, cpu: 0.5, edge: undefined };
  }
}

/**
 * Submit a task every `everyMs` (aggregates and batch inference over the
 * newest readings of an edge, or of the cloud) so the scheduler has work to
 * place on edges and cloud workers. A submission that fails (no data yet) is
 * logged and tried again next time.
 */
export function startTaskFeeder(options: { nc: NatsConnection; edges: readonly string[]; everyMs: number; logger: Logger }) {
  const { nc, edges, everyMs, logger } = options;
  let n = 0;
  let submitted = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const { edge, ...request } = nextRequest(n++, edges);
    newestRange(nc, edge)
      .then((data) => submitTask({ ...request, data }, { nc, edges, source: "tide://demo/tasks" }))
      .then(() => void submitted++)
      .catch((error: unknown) => logger.debug({ err: errorMessage(error), kind: request.kind }, "demo task not submitted"))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return {
    submitted: () => submitted,
    stop: () => clearInterval(timer),
  };
}
