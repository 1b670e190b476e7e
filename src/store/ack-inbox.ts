import { ErrorCode, NatsError, type JetStreamClient, type Msg, type MsgHdrs, type PubAck } from "nats";

/**
 * JetStream publishes for the event writer's hot path, acknowledged through
 * nats.js's own request inbox without what `js.publish` -> `nc.request` adds
 * per publish in nats.js 2.29: a RequestOne with its deferred and timer
 * promises raced, and a stack-traced `NatsError` that `RequestOne.cancel`
 * builds after every ack only to throw it away (more CPU than everything else
 * an append does). Each publish registers a small waiting entry in the
 * connection's request multiplexer, so nats.js itself routes its ack, fails
 * it on a permissions error, a closed connection or no responders exactly as
 * it fails requests, and the JetStream client's own `parseJsResponse` reads
 * the ack: callers get what `js.publish` would give them.
 */
export interface AckInbox {
  /** `js.publish(subject, data, { headers })`: resolves once stored (or found a duplicate). */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck>;
}

/** A waiting publish as nats.js's request multiplexer sees a request. */
interface MuxEntry {
  token: string;
  requestSubject: string;
  received: number;
  resolver(error: Error | null, msg: Msg): void;
}

/** The parts of nats.js 2.29 this uses (not public API): checked once, else there is no inbox and callers use `js.publish`. */
interface Internals {
  nc?: {
    _check?: (subject: string, sub: boolean, pub: boolean) => void;
    publish?: (subject: string, data: Uint8Array, options: { reply: string; headers: MsgHdrs }) => void;
    protocol?: {
      request?: (r: MuxEntry) => unknown;
      muxSubscriptions?: { baseInbox?: unknown; cancel?: (r: MuxEntry) => void };
    };
  };
  timeout?: unknown;
  parseJsResponse?: (m: Msg) => unknown;
}

// Tokens share the multiplexer with nats.js's own (22-character nuids) and with other inboxes on the connection.
let nextToken = 0;

/** The ack inbox of `js`'s connection, or `undefined` when `js` is not the nats.js client this was written for. */
export function ackInboxFor(js: JetStreamClient): AckInbox | undefined {
  const { nc, timeout, parseJsResponse } = js as unknown as Internals;
  const protocol = nc?.protocol;
  const mux = protocol?.muxSubscriptions;
  if (
    typeof nc?._check !== "function" ||
    typeof nc.publish !== "function" ||
    typeof protocol?.request !== "function" ||
    typeof mux?.cancel !== "function" ||
    typeof parseJsResponse !== "function" ||
    typeof timeout !== "number"
  ) {
    return undefined;
  }
  const check = nc._check.bind(nc);
  const send = nc.publish.bind(nc);
  const register = protocol.request.bind(protocol);
  const unregister = mux.cancel.bind(mux);
  const parse = parseJsResponse.bind(js);

  return {
    publish(subject, data, headers) {
      // As nc.request: refused on a closed or draining connection or an empty subject, before anything is sent.
      try {
        check(subject, true, true);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<PubAck>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const entry: MuxEntry = {
          token: `t${(nextToken++).toString(36)}`,
          requestSubject: subject,
          received: 0,
          // Called by nats.js with the ack, or with the error it fails requests with (no responders, permissions, closing).
          resolver(error, msg) {
            unregister(entry);
            clearTimeout(timer);
            if (error) {
              reject(error);
              return;
            }
            // As js.publish reads its response.
            try {
              const ack = parse(msg) as PubAck;
              if (ack.stream === "") throw NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
              ack.duplicate = ack.duplicate ? ack.duplicate : false;
              resolve(ack);
            } catch (parseError) {
              reject(parseError);
            }
          },
        };
        register(entry);
        timer = setTimeout(() => {
          unregister(entry);
          reject(NatsError.errorForCode(ErrorCode.Timeout));
        }, timeout);
        try {
          send(subject, data, { reply: `${String(mux.baseInbox)}${entry.token}`, headers });
        } catch (error) {
          unregister(entry);
          clearTimeout(timer);
          reject(error);
        }
      });
    },
  };
}
