/**
 * Rounds of a controller, one at a time: `round()` starts one now, or, while
 * one runs, asks for exactly one more right after it (however many times it
 * is called meanwhile) and returns the running one. A round that throws is
 * reported to `onError` and does not stop later rounds.
 */
export function createSerialRounds(work: () => Promise<void>, options: { onError(error: unknown): void; repeat(): boolean }) {
  let running: Promise<void> | undefined;
  let again = false;
  function round(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = work()
      .catch(options.onError)
      .finally(() => {
        running = undefined;
        if (again && options.repeat()) {
          again = false;
          void round();
        }
      });
    return running;
  }
  return {
    round,
    /** The round running now, if any (await it before stopping). */
    current: (): Promise<void> | undefined => running,
  };
}
