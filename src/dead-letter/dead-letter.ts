import type { JetStreamClient, MsgHdrs } from "nats";
import { createEvent, headersToRecord } from "../events/envelope.ts";
import type { DeadLetterReason } from "../events/dead-letter.ts";
import { subjects } from "../events/subjects.ts";
import { appendToStream, type AppendResult } from "../store/append-to-stream.ts";

/** Dead letters keep at most this many bytes of the original payload. */
export const DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024;

export interface Rejection {
  reason: DeadLetterReason;
  message: string;
  issues?: string[];
}

export interface RejectedMessage {
  subject: string;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}

/**
 * Store a rejected message on the DLQ of `place` (`cloud` or an edge id), with
 * its reason, original headers and bytes. Nothing rejected is ever dropped silently.
 */
export function deadLetter(js: JetStreamClient, place: string, source: string, rejected: RejectedMessage, rejection: Rejection): Promise<AppendResult> {
  const truncated = rejected.data.length > DEAD_LETTER_PAYLOAD_LIMIT;
  const kept = truncated ? rejected.data.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT) : rejected.data;
  const event = createEvent(
    {
      type: "tide.dlq.rejected.v1",
      data: {
        reason: rejection.reason,
        message: rejection.message,
        issues: rejection.issues ?? [],
        subject: rejected.subject,
        headers: headersToRecord(rejected.headers),
        payload: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString("base64"),
        payloadBytes: rejected.data.length,
        truncated,
        receivedAt: new Date().toISOString(),
      },
    },
    { source },
  );
  return appendToStream(js, subjects.deadLetter(place, rejection.reason), event);
}
