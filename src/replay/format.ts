/** One replayed message: what `tide replay` prints, in any format. */
export interface ReplayLine {
  seq: number;
  subject: string;
  /** When the stream stored it (ISO 8601, ms). */
  storedAt: string;
  /** `ce-type` (upcast to the current version when valid). */
  type: string;
  /** `ce-id`: the event id. */
  id: string;
  /** Whether the message decoded into an event that passes its schema. */
  valid: boolean;
  /** The event's data, or the body as text when it is not a valid event. */
  data: unknown;
  /** Why it is not valid. */
  error?: string;
}

/** How `tide replay` prints: a table for people, JSON lines or CSV for tools. */
export const ReplayFormat = { Table: "table", Json: "json", Csv: "csv" } as const;
export type ReplayFormat = (typeof ReplayFormat)[keyof typeof ReplayFormat];
export const REPLAY_FORMATS = Object.values(ReplayFormat);

const DATA_WIDTH = 100;
/** Event ids are UUID-shaped: the id a person copies into `tide audit decision`. */
const ID_WIDTH = 36;

/** The header line of a format (none for JSON lines). */
export function replayHeader(format: ReplayFormat): string {
  switch (format) {
    case "table":
      return `${"SEQ".padStart(8)}  ${"STORED AT".padEnd(24)}  ${"SUBJECT".padEnd(36)}  ${"TYPE".padEnd(32)}  ${"ID".padEnd(ID_WIDTH)}  DATA\n`;
    case "csv":
      return "seq,stored_at,subject,type,id,valid,data\n";
    case "json":
      return "";
    default:
      return assertNever(format);
  }
}

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One message as a line of the format, newline included. */
export function formatReplayLine(line: ReplayLine, format: ReplayFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(line) + "\n";
    case "csv": {
      const data = typeof line.data === "string" && !line.valid ? line.data : JSON.stringify(line.data);
      return `${line.seq},${line.storedAt},${csvField(line.subject)},${csvField(line.valid ? line.type : `INVALID ${line.type}`)},${csvField(line.id)},${line.valid},${csvField(data)}\n`;
    }
    case "table": {
      const data = JSON.stringify(line.data) ?? "";
      const shown = data.length > DATA_WIDTH ? data.slice(0, DATA_WIDTH - 3) + "..." : data;
      return `${String(line.seq).padStart(8)}  ${line.storedAt.padEnd(24)}  ${line.subject.padEnd(36)}  ${(line.valid ? line.type : `INVALID ${line.error}`).padEnd(32)}  ${(line.id || "-").padEnd(ID_WIDTH)}  ${shown}\n`;
    }
    default:
      return assertNever(format);
  }
}

function assertNever(value: never): never {
  throw new Error(`unknown replay format ${String(value)}`);
}
