import type { JetStreamClient } from "nats";
import type { TideEvent } from "../events/catalogue.ts";
import { ackInboxFor } from "./ack-inbox.ts";
import { appendThrough, appendToStream, type AppendResult } from "./append-to-stream.ts";

export interface EventWriterOptions {
  /** Appends awaiting their ack at once; more wait for a slot (default 512). */
  maxInFlight?: number;
}

/**
 * Pipelined appends for hot paths (ingest, bulk writes): many appends in
 * flight on one connection, each still acknowledged individually and in
 * publish order. `append` resolves when that event is stored.
 */
export function createEventWriter(js: JetStreamClient, options: EventWriterOptions = {}) {
  const { maxInFlight = 512 } = options;
  let inFlight = 0;
  const waiting: (() => void)[] = [];

  const release = () => {
    inFlight--;
    waiting.shift()?.();
  };
  // Acks through the connection's request inbox without nats.js's per-request machinery, when js is the client it
  // knows; else js.publish (appendToStream).
  const inbox = ackInboxFor(js);
  // Not async: every append of a hot path passes here, and each await is more promises and ticks.
  const start = (subject: string, event: TideEvent): Promise<AppendResult> => {
    inFlight++;
    const appended = inbox ? appendThrough(inbox, subject, event) : appendToStream(js, subject, event);
    appended.then(release, release);
    return appended;
  };

  return {
    append(subject: string, event: TideEvent): Promise<AppendResult> {
      if (inFlight < maxInFlight) return start(subject, event);
      return new Promise<void>((resolve) => waiting.push(resolve)).then(() => start(subject, event));
    },
    get inFlight() {
      return inFlight;
    },
  };
}
export type EventWriter = ReturnType<typeof createEventWriter>;
