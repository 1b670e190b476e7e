import { z } from "zod";
import { defineEvent, isoTime, nonNegativeInt } from "./define.ts";

/** Stable reasons a message is dead-lettered; the DLQ subject ends in one of them. */
export const DeadLetterReason = z.enum([
  "not_json",
  "schema",
  "unknown_type",
  "oversize",
  "bad_headers",
  "device_mismatch",
  "bad_subject",
]);
export type DeadLetterReason = z.infer<typeof DeadLetterReason>;

export const deadLettered = defineEvent(
  "tide.dlq.rejected.v1",
  z.object({
    reason: DeadLetterReason,
    /** Human-readable: what exactly was wrong. */
    message: z.string().min(1),
    issues: z.array(z.string()).default([]),
    /** Where it arrived. */
    subject: z.string(),
    headers: z.record(z.string(), z.array(z.string())),
    /** The original bytes, base64, cut to `payloadLimit` when oversize. */
    payload: z.string(),
    payloadBytes: nonNegativeInt(),
    truncated: z.boolean(),
    receivedAt: isoTime(),
  }),
);
