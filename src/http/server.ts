import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { TideError, ErrorCode, errorMessage } from "../errors.ts";
import { formatIssues } from "../events/catalogue.ts";
import { silentLogger, type Logger } from "../log.ts";

/** An HTTP failure with a status; anything else thrown becomes a 500. */
export class HttpError extends Error {
  readonly status: number;
  readonly issues: string[];
  constructor(status: number, message: string, issues: string[] = []) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.issues = issues;
  }
}

/** A JSON route: its handler's result is sent as JSON with status 200. */
export interface JsonRoute {
  method: "GET" | "POST";
  path: string;
  handle(request: { body: unknown; url: URL }): Promise<unknown> | unknown;
}

/** A route that writes its own response (text, HTML, server-sent events); a throw before it writes still becomes a JSON error. */
export interface RawRoute {
  method: "GET";
  path: string;
  serve(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> | void;
}

export type Route = JsonRoute | RawRoute;

const MAX_BODY = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/json")) throw new HttpError(415, `content-type must be application/json, got '${type || "none"}'`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new HttpError(400, `body is not JSON: ${(error as Error).message}`);
  }
}

/** Parse a request body with a zod schema; a mismatch is a 400 carrying the zod issues. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, "invalid request body", formatIssues(parsed.error));
  return parsed.data;
}

/** The one place errors become HTTP answers. */
function statusOf(error: unknown): { status: number; body: { error: string; issues?: string[] } } {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.message, ...(error.issues.length ? { issues: error.issues } : {}) } };
  if (error instanceof TideError && error.code === ErrorCode.Validation) return { status: 400, body: { error: error.message } };
  if (error instanceof TideError && error.code === ErrorCode.NotFound) return { status: 404, body: { error: error.message } };
  // Someone else decided first (and kept doing so through the handler's retries): the client may ask again.
  if (error instanceof TideError && error.code === ErrorCode.Concurrency) return { status: 409, body: { error: error.message } };
  return { status: 500, body: { error: "internal error" } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const bytes = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(bytes) });
  res.end(bytes);
}

/** A small JSON HTTP server: routes by method and path, bad input answered with 4xx, never a crash. */
export async function startHttpServer(options: { routes: Route[]; port?: number; host?: string; logger?: Logger }): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { routes, port = 0, host = "127.0.0.1", logger = silentLogger } = options;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
      try {
        const candidates = routes.filter((r) => r.path === url.pathname);
        if (candidates.length === 0) throw new HttpError(404, `no route ${url.pathname}`);
        const route = candidates.find((r) => r.method === req.method);
        if (!route) throw new HttpError(405, `${req.method} not allowed on ${url.pathname} (use ${candidates.map((r) => r.method).join(", ")})`);
        if ("serve" in route) {
          await route.serve(req, res, url);
          return;
        }
        const body = route.method === "POST" ? await readJson(req) : undefined;
        send(res, 200, await route.handle({ body, url }));
      } catch (error) {
        const { status, body } = statusOf(error);
        if (status >= 500) logger.error({ path: url.pathname, err: errorMessage(error) }, "request failed");
        if (!res.headersSent) send(res, status, body);
        // Drain what the client still sends so the connection closes cleanly.
        req.resume();
      }
    })();
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long-lived responses (server-sent events) would hold close() open forever.
        server.closeAllConnections();
      }),
  };
}
