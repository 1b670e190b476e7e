import pino, { type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  /** pino level; `TIDE_LOG_LEVEL` when not given, else `info`. */
  level?: string;
  /** Pretty output; defaults to on when stderr is a terminal. */
  pretty?: boolean;
}

/** The one root logger of a process; pass `logger.child({...})` down. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = process.env.TIDE_LOG_LEVEL ?? "info", pretty = process.stderr.isTTY === true } = options;
  const redact = { paths: ["password", "*.password", "credentials", "*.credentials"], censor: "[redacted]" };
  if (pretty) {
    return pino({ level, redact, transport: { target: "pino-pretty", options: { destination: 2, colorize: true } } });
  }
  return pino({ level, redact }, pino.destination(2));
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: "silent" });
