/** The JetStream API error codes we act on (nats-server's `errors.json`). */
export const JS_ERR = {
  /** `no message found`: a get by sequence or by last subject found nothing. */
  noMessage: 10037,
  /** `wrong last sequence`: an expected-last-subject-sequence append lost the race. */
  wrongLastSequence: 10071,
} as const;

interface ApiErrorShape {
  api_error?: { err_code?: number; description?: string };
}

/** The JetStream API error of a failed request (nats.js puts it on the error it throws), if any. */
export function jsApiError(error: unknown): { code: number | undefined; description: string | undefined } | undefined {
  const api = (error as ApiErrorShape | undefined)?.api_error;
  return api ? { code: api.err_code, description: api.description } : undefined;
}

/** True when a stream get found no message (the stream or subject is empty). */
export const isNoMessage = (error: unknown): boolean => jsApiError(error)?.code === JS_ERR.noMessage;
