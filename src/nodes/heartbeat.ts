import type { NatsConnection } from "nats";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { errorMessage } from "../errors.ts";
import { createEvent } from "../events/envelope.ts";
import type { TfBackend } from "../events/inference.ts";
import type { EdgeActivity } from "../events/node.ts";
import { subjects } from "../events/subjects.ts";
import { CLOUD_DOMAIN } from "../ids.ts";
import { silentLogger, type Logger } from "../log.ts";
import { appendToStream } from "../store/append-to-stream.ts";

/** What a node reports besides its machine's resources. */
export interface NodeStatus {
  queueDepth: number;
  modelVersion?: string;
  backend?: TfBackend;
  rttMs?: number;
  /** Edges: what the edge did (dashboard, metrics). */
  activity?: EdgeActivity;
}

export interface HeartbeatOptions {
  nc: NatsConnection;
  /** Node id: `edge-<id>` for an edge runtime, `worker-<name>` for a cloud worker. */
  node: string;
  kind: "edge" | "cloud";
  edge?: string;
  /** Task kinds this node can run. */
  kinds?: string[];
  /** What the node offers to tasks (default: this machine's CPUs and memory). */
  resources?: { cpus: number; memoryMb: number };
  intervalMs?: number;
  status: () => NodeStatus;
  logger?: Logger;
}

const MB = 1024 * 1024;

/**
 * Register the node on the cloud NODES stream and report its resources and
 * status every `intervalMs`. While the cloud is unreachable heartbeats are
 * skipped (they describe the present; the cloud declares the node lost), and
 * the node registers again when it can.
 */
export function startHeartbeats(options: HeartbeatOptions) {
  const { nc, node, kind, edge, kinds = [], resources, intervalMs = 5000, status, logger = silentLogger } = options;
  const js = nc.jetstream({ domain: CLOUD_DOMAIN });
  const source = `tide://${node}/heartbeat`;
  let registered = false;
  let sent = 0;

  async function beat(): Promise<void> {
    const s = status();
    try {
      if (!registered) {
        const event = createEvent(
          {
            type: "tide.node.registered.v1",
            data: {
              node,
              kind,
              ...(edge ? { edge } : {}),
              resources: resources ?? { cpus: cpus().length, memoryMb: Math.round(totalmem() / MB) },
              ...(s.backend ? { backend: s.backend } : {}),
              kinds,
              heartbeatMs: intervalMs,
            },
          },
          { source },
        );
        await appendToStream(js, subjects.node(node), event, { timeoutMs: 2000 });
        registered = true;
      }
      const event = createEvent(
        {
          type: "tide.node.heartbeat.v1",
          data: {
            node,
            cpuLoad: loadavg()[0]! / cpus().length,
            memoryMb: Math.round(process.memoryUsage().rss / MB),
            freeMemoryMb: Math.round(freemem() / MB),
            queueDepth: s.queueDepth,
            ...(s.modelVersion ? { modelVersion: s.modelVersion } : {}),
            ...(s.backend ? { backend: s.backend } : {}),
            ...(s.rttMs === undefined ? {} : { rttMs: s.rttMs }),
            ...(s.activity ? { activity: s.activity } : {}),
          },
        },
        { source },
      );
      await appendToStream(js, subjects.node(node), event, { timeoutMs: 2000 });
      sent++;
    } catch (error) {
      registered = false;
      logger.debug({ node, err: errorMessage(error) }, "heartbeat not delivered (cloud unreachable?)");
    }
  }

  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    get sent() {
      return sent;
    },
    beat,
    stop(): void {
      clearInterval(timer);
    },
  };
}
