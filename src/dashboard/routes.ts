import type Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { errorMessage } from "../errors.ts";
import type { JsonRoute, RawRoute } from "../http/server.ts";
import { silentLogger, type Logger } from "../log.ts";
import { dashboardSnapshot } from "./snapshot.ts";
import { projectPath } from "../paths.ts";

export interface DashboardOptions {
  /** The cloud projection database. */
  db: Database.Database;
  /** How often live clients get a new snapshot when something changed (default 1000 ms). */
  intervalMs?: number;
  logger?: Logger;
}

/** The page: one file with its CSS and JS inline, nothing fetched from elsewhere (works offline). */
const PAGE = readFileSync(projectPath("src", "dashboard", "page.html"));

/**
 * The dashboard on the cloud HTTP server: `GET /` the page, `GET
 * /dashboard/state` the snapshot as JSON, `GET /dashboard/events` the same
 * snapshot as server-sent events, sent again whenever the projections change.
 * One timer serves every client, and only while there are clients.
 */
export function dashboardRoutes(options: DashboardOptions) {
  const { db, intervalMs = 1000, logger = silentLogger } = options;
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let last = "";

  function tick(): void {
    let data: string;
    try {
      data = JSON.stringify(dashboardSnapshot(db));
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, "dashboard snapshot failed");
      return;
    }
    // The snapshot's own time always changes: compare without it.
    const body = data.replace(/^\{"at":"[^"]*",/, "{");
    if (body === last) return;
    last = body;
    for (const res of clients) res.write(`event: snapshot\ndata: ${data}\n\n`);
  }

  const page: RawRoute = {
    method: "GET",
    path: "/",
    serve(_req, res) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": PAGE.length, "cache-control": "no-store" });
      res.end(PAGE);
    },
  };
  const state: JsonRoute = { method: "GET", path: "/dashboard/state", handle: () => dashboardSnapshot(db) };
  const events: RawRoute = {
    method: "GET",
    path: "/dashboard/events",
    serve(req, res) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(dashboardSnapshot(db))}\n\n`);
      clients.add(res);
      timer ??= setInterval(tick, intervalMs);
      req.on("close", () => {
        clients.delete(res);
        if (clients.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
          last = "";
        }
      });
    },
  };
  return {
    routes: [page, state, events],
    close(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
