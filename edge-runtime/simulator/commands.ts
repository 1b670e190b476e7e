import { z } from "zod";
import { Action } from "../../src/events/inference.ts";

/** A command a device understood, or why not. */
export type ParsedCommand = { ok: true; device: string; action: Action } | { ok: false; device: string | undefined; message: string };

/**
 * The body of a command: the data of a `tide.command.issued.v1` event
 * (`{ edge, device, command, decisionId }`), or `{ action }`, or the bare action
 * as text (`nats pub tide.command.1.sim-1 cooling_on`).
 */
const CommandBody = z.union([
  z.object({ command: Action, device: z.string().optional() }),
  z.object({ action: Action, device: z.string().optional() }),
]);

const decoder = new TextDecoder();

/** Read a message on `tide.command.<edge>.<device>` as a device would. */
export function parseCommand(subject: string, data: Uint8Array): ParsedCommand {
  const device = subject.split(".")[3];
  if (device === undefined) return { ok: false, device, message: `'${subject}' is not tide.command.<edge>.<device>` };
  const text = decoder.decode(data).trim();
  const bare = Action.safeParse(text);
  if (bare.success) return { ok: true, device, action: bare.data };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, device, message: `not a command: '${text.slice(0, 80)}' (expected one of ${Action.options.join(", ")} or JSON with 'command')` };
  }
  const body = CommandBody.safeParse(json);
  if (!body.success) return { ok: false, device, message: `not a command: expected 'command' (or 'action') to be one of ${Action.options.join(", ")}` };
  if (body.data.device !== undefined && body.data.device !== device) {
    return { ok: false, device, message: `command for device '${body.data.device}' arrived on the subject of '${device}'` };
  }
  return { ok: true, device, action: "command" in body.data ? body.data.command : body.data.action };
}
