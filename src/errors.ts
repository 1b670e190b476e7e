/**
 * Tide's error hierarchy. Every error has a stable `code`; the CLI and the HTTP
 * APIs turn them into messages and statuses in one place each.
 */
export const ErrorCode = {
  Validation: "VALIDATION",
  Concurrency: "CONCURRENCY",
  Config: "CONFIG",
  Topology: "TOPOLOGY",
  Usage: "USAGE",
  NotFound: "NOT_FOUND",
  Stream: "STREAM",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TideError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TideError";
    this.code = code;
  }
}

/** Bad input: bytes or arguments that do not make a valid value. */
export class ValidationError extends TideError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options?: { cause?: unknown }) {
    super(ErrorCode.Validation, message, options);
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/**
 * An append whose expected last subject sequence did not match: someone else
 * decided first. JetStream API error 10071 becomes this.
 */
export class ConcurrencyError extends TideError {
  readonly stream: string;
  readonly subject: string;
  readonly expected: number;
  readonly actual: number | undefined;
  constructor(args: { stream: string; subject: string; expected: number; actual: number | undefined; cause?: unknown }) {
    super(
      ErrorCode.Concurrency,
      `wrong expected last sequence on ${args.stream} ${args.subject}: expected ${args.expected}, stream has ${args.actual ?? "unknown"}`,
      { cause: args.cause },
    );
    this.name = "ConcurrencyError";
    this.stream = args.stream;
    this.subject = args.subject;
    this.expected = args.expected;
    this.actual = args.actual;
  }
}

export class ConfigError extends TideError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Config, message, options);
    this.name = "ConfigError";
  }
}

export class TopologyError extends TideError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Topology, message, options);
    this.name = "TopologyError";
  }
}

/** A command line that cannot be run as given. */
export class UsageError extends TideError {
  constructor(message: string) {
    super(ErrorCode.Usage, message);
    this.name = "UsageError";
  }
}

export class NotFoundError extends TideError {
  constructor(message: string) {
    super(ErrorCode.NotFound, message);
    this.name = "NotFoundError";
  }
}

/** A stream definition that cannot be applied as it stands. */
export class StreamConfigError extends TideError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Stream, message, options);
    this.name = "StreamConfigError";
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
