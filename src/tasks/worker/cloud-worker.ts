import { cpus as machineCpus, totalmem } from "node:os";
import { ValidationError } from "../../errors.ts";
import { CLOUD_DOMAIN } from "../../ids.ts";
import { silentLogger, type Logger } from "../../log.ts";
import { startHeartbeats } from "../../nodes/heartbeat.ts";
import { connectTo, type TopologyFile } from "../../topology/index.ts";
import { BUILT_IN_KINDS, createTaskKindRegistry, loadKindsModule, type TaskKind } from "../kinds/index.ts";
import { startTaskWorker } from "./executor.ts";

/** A cloud worker's name, kinds and what it offers. */
export interface CloudWorkerOptions {
  topology: TopologyFile;
  /** Node id is `worker-<name>`. */
  name: string;
  /** Kinds to run, by name (default: every built-in kind and every kind of `modules` and `extraKinds`). */
  kinds?: readonly string[];
  /** Modules exporting more kinds (`tide worker --module FILE`). */
  modules?: readonly string[];
  /** Kinds given in code (the TypeScript API). */
  extraKinds?: readonly TaskKind[];
  /** What it offers to tasks (default: this machine). */
  cpus?: number;
  memoryMb?: number;
  heartbeatMs?: number;
  logger?: Logger;
}

/**
 * `tide worker`: a cloud worker process. Registers as `worker-<name>` on the
 * cloud NODES stream with what it offers and the kinds it runs, heartbeats,
 * and runs the tasks the scheduler assigns to it.
 */
export async function startCloudWorker(options: CloudWorkerOptions) {
  const { topology, name, heartbeatMs = 5000, logger = silentLogger } = options;
  const node = `worker-${name}`;
  const log = logger.child({ node });
  const available: TaskKind[] = [...BUILT_IN_KINDS, ...(options.extraKinds ?? [])];
  for (const module of options.modules ?? []) available.push(...(await loadKindsModule(module)));
  const wanted = options.kinds ?? available.map((k) => k.kind);
  const unknown = wanted.filter((k) => !available.some((a) => a.kind === k));
  if (unknown.length) throw new ValidationError(`unknown task kind(s): ${unknown.join(", ")} (available: ${available.map((k) => k.kind).join(", ")})`);
  const registry = createTaskKindRegistry(available.filter((k) => wanted.includes(k.kind)));
  const resources = { cpus: options.cpus ?? machineCpus().length, memoryMb: options.memoryMb ?? Math.round(totalmem() / (1024 * 1024)) };

  const nc = await connectTo(topology, CLOUD_DOMAIN, { name: `tide-${node}` });
  const worker = startTaskWorker({ nc, node, registry, cpus: resources.cpus, logger: log });
  try {
    await worker.start();
  } catch (error) {
    await nc.close();
    throw error;
  }
  const heartbeats = startHeartbeats({ nc, node, kind: "cloud", kinds: registry.names(), resources, intervalMs: heartbeatMs, logger: log, status: () => ({ queueDepth: worker.queueDepth() }) });
  log.info({ kinds: registry.names(), ...resources }, "cloud worker up");
  return {
    node,
    worker,
    kinds: registry.names(),
    resources,
    async stop(): Promise<void> {
      heartbeats.stop();
      await worker.stop();
      await nc.drain().catch(() => undefined);
    },
  };
}
/** A running cloud worker. */
export type CloudWorker = Awaited<ReturnType<typeof startCloudWorker>>;
