import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrencyError, NotFoundError, ValidationError } from "../errors.ts";
import { HttpError, startHttpServer } from "./server.ts";

/** Each route throws what its name says; the one place errors become HTTP answers decides the status. */
const throwing = (path: string, error: unknown) => ({ method: "POST" as const, path, handle: () => Promise.reject(error) });

let http: Awaited<ReturnType<typeof startHttpServer>>;
beforeAll(async () => {
  http = await startHttpServer({
    routes: [
      throwing("/conflict", new ConcurrencyError({ stream: "ROLLOUTS", subject: "tide.rollout.r1", expected: 3, actual: 4 })),
      throwing("/invalid", new ValidationError("bad rollout id")),
      throwing("/missing", new NotFoundError("no rollout r9")),
      throwing("/teapot", new HttpError(418, "short and stout")),
      throwing("/bug", new TypeError("x is undefined")),
      { method: "GET", path: "/ok", handle: () => ({ ok: true }) },
    ],
  });
});
afterAll(() => http?.close());

const post = async (path: string) => {
  const res = await fetch(`${http.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  return { status: res.status, body: (await res.json()) as { error?: string } };
};

describe("HTTP error answers", () => {
  it("a decision someone else made first is a 409 naming the conflict", async () => {
    const { status, body } = await post("/conflict");
    expect(status).toBe(409);
    expect(body.error).toContain("tide.rollout.r1");
  });

  it("bad input is a 400, an unknown thing a 404, an HttpError its own status, anything else a 500 without details", async () => {
    expect((await post("/invalid")).status).toBe(400);
    expect((await post("/missing")).status).toBe(404);
    expect((await post("/teapot")).status).toBe(418);
    expect(await post("/bug")).toEqual({ status: 500, body: { error: "internal error" } });
  });

  it("an unknown path is a 404 and a wrong method a 405", async () => {
    expect((await post("/nowhere")).status).toBe(404);
    expect((await post("/ok")).status).toBe(405);
  });
});
