import type { NatsConnection } from "nats";
import { z } from "zod";
import { errorMessage } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import type { ReadingPoint } from "../src/model/features.ts";
import type { Offload } from "./pipeline/pipeline.ts";

/** Joint inference: the edge asks the cloud model on this subject (request/reply, across the leaf link). */
export const OFFLOAD_SUBJECT = "tide.offload.predict";

export const OffloadRequest = z.strictObject({
  edge: z.string(),
  device: z.string(),
  window: z.array(z.strictObject({ seq: z.number().int().positive(), temperature: z.number(), humidity: z.number() })).min(1).max(64),
});
export type OffloadRequest = z.infer<typeof OffloadRequest>;

export const OffloadReply = z.union([
  z.object({ ok: z.literal(true), modelVersion: z.string(), temperature: z.number() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** The edge side: a request with a timeout; no answer in time (or offline) means the edge's own prediction stands. */
export function createOffloadClient(nc: NatsConnection, edge: string, timeoutMs: number, logger: Logger): Offload {
  return async (device: string, window: ReadingPoint[]) => {
    const request: OffloadRequest = { edge, device, window: window.map(({ seq, temperature, humidity }) => ({ seq, temperature, humidity })) };
    try {
      const msg = await nc.request(OFFLOAD_SUBJECT, JSON.stringify(request), { timeout: timeoutMs });
      const reply = OffloadReply.parse(msg.json());
      return reply.ok ? { modelVersion: reply.modelVersion, temperature: reply.temperature } : undefined;
    } catch (error) {
      logger.debug({ device, err: errorMessage(error) }, "offload unanswered");
      return undefined;
    }
  };
}
