import type { JetStreamClient, JetStreamPublishOptions, PubAck } from "nats";
import { ConcurrencyError } from "../errors.ts";
import { encodeEvent } from "../events/envelope.ts";
import type { AckInbox } from "./ack-inbox.ts";
import { JS_ERR, jsApiError } from "./api-errors.ts";
import type { TideEvent } from "../events/catalogue.ts";

export interface AppendOptions {
  /**
   * Optimistic concurrency: the append succeeds only if the last message on
   * `subject` has this stream sequence (0 = no message on it yet).
   */
  expectedLastSubjectSequence?: number;
  /** Ack timeout (default: the JetStream client's). */
  timeoutMs?: number;
}

export interface AppendResult {
  stream: string;
  seq: number;
  /** True when JetStream already had this event id: a retried append stored once. */
  duplicate: boolean;
}

/** Map JetStream's "wrong last sequence" to our ConcurrencyError; leave everything else alone. */
export function toConcurrencyError(error: unknown, subject: string, expected: number): unknown {
  const api = jsApiError(error);
  if (api?.code !== JS_ERR.wrongLastSequence) return error;
  const actual = /(\d+)\s*$/.exec(api.description ?? "")?.[1];
  return new ConcurrencyError({ stream: `the stream of ${subject}`, subject, expected, actual: actual === undefined ? undefined : Number(actual), cause: error });
}

/**
 * Append one event to the stream that captures `subject`. The event id is the
 * `Nats-Msg-Id`, so a retry inside the stream's duplicate window is stored once.
 * Throws ConcurrencyError when `expectedLastSubjectSequence` does not hold.
 */
export function appendToStream(js: JetStreamClient, subject: string, event: TideEvent, options: AppendOptions = {}): Promise<AppendResult> {
  // Not an async function, and no option spreads: this runs for every append, and each await is more promises and ticks.
  const { expectedLastSubjectSequence, timeoutMs } = options;
  let published: Promise<PubAck>;
  try {
    const { headers, data } = encodeEvent(event);
    const publishOptions: Partial<JetStreamPublishOptions> = { headers };
    if (timeoutMs) publishOptions.timeout = timeoutMs;
    if (expectedLastSubjectSequence !== undefined) publishOptions.expect = { lastSubjectSequence: expectedLastSubjectSequence };
    published = js.publish(subject, data, publishOptions);
  } catch (error) {
    return Promise.reject(error);
  }
  if (expectedLastSubjectSequence === undefined) return published.then(appendResultOf);
  return published.then(appendResultOf, (error: unknown) => {
    throw toConcurrencyError(error, subject, expectedLastSubjectSequence);
  });
}

/** `appendToStream` with no options, its publish acknowledged through an ack inbox (the event writer's hot path). */
export function appendThrough(inbox: AckInbox, subject: string, event: TideEvent): Promise<AppendResult> {
  let published: Promise<PubAck>;
  try {
    const { headers, data } = encodeEvent(event);
    published = inbox.publish(subject, data, headers);
  } catch (error) {
    return Promise.reject(error);
  }
  return published.then(appendResultOf);
}

function appendResultOf(ack: PubAck): AppendResult {
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}
