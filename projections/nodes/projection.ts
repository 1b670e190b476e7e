import type { Projection } from "../engine/projection.ts";

/**
 * Every node (edge runtimes and cloud workers): what it offers, its last
 * heartbeat, whether it is lost, and its sessions (`node_sessions`: from a
 * registration or a first beat after a loss, to the loss) — the T_total of
 * utilisation.
 */
export const nodesProjection: Projection = {
  name: "nodes",
  version: 1,
  description: "nodes: resources, kinds, last heartbeat, lost or alive, sessions",
  places: ["cloud"],
  source: () => ({ stream: "NODES" }),
  tables: ["nodes", "node_sessions"],
  schema: `
    CREATE TABLE IF NOT EXISTS nodes (
      node TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      edge TEXT,
      cpus REAL NOT NULL,
      memory_mb REAL NOT NULL,
      kinds TEXT NOT NULL,
      heartbeat_ms INTEGER,
      registered_at TEXT NOT NULL,
      last_seen TEXT NOT NULL,
      cpu_load REAL,
      queue_depth INTEGER,
      rtt_ms REAL,
      -- alive, lost
      status TEXT NOT NULL,
      lost_at TEXT
    );
    CREATE TABLE IF NOT EXISTS node_sessions (
      node TEXT NOT NULL,
      started_at TEXT NOT NULL,
      ended_at TEXT,
      PRIMARY KEY (node, started_at)
    );`,
  handlers(db) {
    const registered = db.prepare(`
      INSERT INTO nodes (node, kind, edge, cpus, memory_mb, kinds, heartbeat_ms, registered_at, last_seen, status)
      VALUES (@node, @kind, @edge, @cpus, @memoryMb, @kinds, @heartbeatMs, @at, @at, 'alive')
      ON CONFLICT(node) DO UPDATE SET kind = excluded.kind, edge = excluded.edge, cpus = excluded.cpus, memory_mb = excluded.memory_mb,
        kinds = excluded.kinds, heartbeat_ms = excluded.heartbeat_ms, last_seen = excluded.last_seen, status = 'alive', lost_at = NULL`);
    const heartbeat = db.prepare(`
      UPDATE nodes SET last_seen = @at, cpu_load = @cpuLoad, queue_depth = @queueDepth, rtt_ms = COALESCE(@rttMs, rtt_ms), status = 'alive', lost_at = NULL
      WHERE node = @node`);
    const lost = db.prepare(`UPDATE nodes SET status = 'lost', lost_at = @at WHERE node = @node`);
    const open = db.prepare(`
      INSERT INTO node_sessions (node, started_at)
      SELECT @node, @at WHERE NOT EXISTS (SELECT 1 FROM node_sessions WHERE node = @node AND ended_at IS NULL)`);
    const close = db.prepare(`UPDATE node_sessions SET ended_at = @at WHERE node = @node AND ended_at IS NULL`);
    return {
      "tide.node.registered.v1": ({ storedAt, event }) => {
        const d = event.data;
        registered.run({ node: d.node, kind: d.kind, edge: d.edge ?? null, cpus: d.resources.cpus, memoryMb: d.resources.memoryMb, kinds: JSON.stringify(d.kinds), heartbeatMs: d.heartbeatMs ?? null, at: storedAt });
        open.run({ node: d.node, at: storedAt });
      },
      "tide.node.heartbeat.v1": ({ storedAt, event }) => {
        const d = event.data;
        if (heartbeat.run({ node: d.node, at: storedAt, cpuLoad: d.cpuLoad, queueDepth: d.queueDepth, rttMs: d.rttMs ?? null }).changes > 0) open.run({ node: d.node, at: storedAt });
      },
      "tide.node.lost.v1": ({ storedAt, event }) => {
        lost.run({ node: event.data.node, at: storedAt });
        close.run({ node: event.data.node, at: event.data.lastSeen });
      },
    };
  },
};
