import type { NatsConnection, Subscription } from "nats";
import { errorMessage } from "../errors.ts";
import { formatIssues } from "../events/catalogue.ts";
import type { Logger } from "../log.ts";
import { OFFLOAD_SUBJECT, OffloadRequest } from "../../edge-runtime/offload.ts";
import type { Predictor } from "../../edge-runtime/pipeline/pipeline.ts";

/**
 * The cloud half of joint inference: answers the edges' offload requests with
 * the cloud's production model (the baseline until one is published). Bad
 * requests get an error answer, never a crash.
 */
export function startOffloadResponder(nc: NatsConnection, predictor: Predictor, logger: Logger) {
  const stats = { answered: 0, rejected: 0 };
  const subscription: Subscription = nc.subscribe(OFFLOAD_SUBJECT, {
    queue: "tide-offload",
    callback: (error, msg) => {
      if (error) return;
      void (async () => {
        let request: OffloadRequest;
        try {
          const parsed = OffloadRequest.safeParse(msg.json());
          if (!parsed.success) throw new Error(formatIssues(parsed.error).join("; "));
          request = parsed.data;
        } catch (e) {
          stats.rejected++;
          msg.respond(JSON.stringify({ ok: false, error: `bad offload request: ${errorMessage(e)}` }));
          return;
        }
        try {
          const result = await predictor.predict({ device: request.device, window: request.window });
          stats.answered++;
          msg.respond(JSON.stringify({ ok: true, modelVersion: result.modelVersion, temperature: result.prediction.temperature }));
        } catch (e) {
          logger.warn({ err: errorMessage(e) }, "offload prediction failed");
          msg.respond(JSON.stringify({ ok: false, error: "prediction failed" }));
        }
      })();
    },
  });
  return {
    stats,
    stop: () => subscription.drain().catch(() => undefined),
  };
}
