import { request } from "node:http";
import type { ReadCase } from "./generate.ts";

/** What a read-only route answers: its content type, and a check of the body. */
export type ReadAnswer = "json" | "text" | "html" | "events";

/** The edge's and the cloud's read-only routes (they take no input but the request itself). */
export const EDGE_READ_ROUTES: Record<string, ReadAnswer> = { "/metrics": "text", "/healthz": "json" };
export const CLOUD_READ_ROUTES: Record<string, ReadAnswer> = {
  "/models": "json",
  "/dashboard/state": "json",
  "/dashboard/events": "events",
  "/": "html",
  "/metrics": "text",
  "/healthz": "json",
};

const CONTENT_TYPES: Record<ReadAnswer, string> = { json: "application/json", text: "text/plain", html: "text/html", events: "text/event-stream" };

/** How a read request ended: an HTTP status, or the connection closed without one. */
export interface ReadOutcome {
  status: number | "closed";
  /** Why the answer is not what `expect` says; undefined when it is. */
  problem?: string;
}

function bodyProblem(answer: ReadAnswer, text: string): string | undefined {
  if (answer === "json") {
    try {
      JSON.parse(text);
      return undefined;
    } catch {
      return `not JSON: ${text.slice(0, 120)}`;
    }
  }
  if (answer === "text") return /^# (HELP|TYPE) /m.test(text) ? undefined : `not metrics: ${text.slice(0, 120)}`;
  if (answer === "html") return /<html/i.test(text) ? undefined : `not the page: ${text.slice(0, 120)}`;
  // Server-sent events: the first event is a snapshot whose data is JSON.
  const data = /^event: snapshot\ndata: (.*)$/m.exec(text)?.[1];
  if (data === undefined) return `no snapshot event: ${text.slice(0, 120)}`;
  return bodyProblem("json", data);
}

/**
 * Send one read case to `base` with node:http (any method, a body on a GET)
 * and judge the answer. An event stream is read up to its first event, then
 * the client goes away (the server must drop it).
 */
export function sendReadCase(base: string, answer: ReadAnswer, c: ReadCase, timeoutMs = 15_000): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: ReadOutcome) => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(outcome);
    };
    const url = new URL(base);
    // A body always with its length: Node sends a GET's body unframed otherwise, and the server reads it as the next request.
    const length = c.body === undefined ? {} : { "content-length": String(c.body.byteLength) };
    const req = request({ host: url.hostname, port: url.port, method: c.method, path: c.path, headers: { ...c.headers, ...length, connection: "close" }, agent: false, timeout: timeoutMs });
    req.on("timeout", () => done({ status: "closed", problem: `no answer in ${timeoutMs} ms` }));
    req.on("error", () => done(c.expect === "closed" ? { status: "closed" } : { status: "closed", problem: "connection closed without an answer" }));
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      const type = String(res.headers["content-type"] ?? "");
      let text = "";
      res.setEncoding("utf8");
      const judge = (): string | undefined => {
        if (c.expect === "closed") return status >= 400 && status < 500 ? undefined : `answered ${status}`;
        if (c.expect === "refused") {
          if (status !== 405) return `answered ${status}, not 405`;
          if (c.method === "HEAD") return undefined;
          try {
            const error = (JSON.parse(text) as { error?: unknown }).error;
            return typeof error === "string" && error.length > 0 ? undefined : `405 without an error: ${text.slice(0, 120)}`;
          } catch {
            return `405 not JSON: ${text.slice(0, 120)}`;
          }
        }
        if (status !== 200) return `answered ${status}: ${text.slice(0, 120)}`;
        if (!type.startsWith(CONTENT_TYPES[answer])) return `content-type ${type}, not ${CONTENT_TYPES[answer]}`;
        return bodyProblem(answer, text);
      };
      res.on("data", (chunk: string) => {
        text += chunk;
        if (answer === "events" && status === 200 && c.expect === "content" && text.includes("\n\n", text.indexOf("event: snapshot"))) {
          const problem = judge();
          done({ status, ...(problem ? { problem } : {}) });
        }
      });
      res.on("end", () => {
        const problem = judge();
        done({ status, ...(problem ? { problem } : {}) });
      });
      res.on("error", () => done({ status, problem: "answer cut off" }));
    });
    if (c.body !== undefined) req.write(c.body);
    req.end();
  });
}
