/**
 * `promise`'s value if it settles within `ms`, else `undefined` (a rejection
 * within `ms` rejects). The timer is cleared as soon as the race is decided:
 * a `Promise.race` against a bare `sleep(ms)` keeps its timer referenced until
 * it fires, so a process whose work is done stays alive that long.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
