/** Signals that ask a long-running command to stop in order (a terminal's Ctrl-C, a service manager's stop). */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

export interface StopRequest {
  /** The signal received, once one was. */
  readonly stoppedBy: string | undefined;
  /** Resolves with the signal (at once when one already came), or with `duration` after `ms`. */
  until(ms?: number): Promise<string>;
  /** Remove the handlers: the default action (exit) applies again. */
  dispose(): void;
}

/**
 * Listen for SIGINT and SIGTERM from now on, start-up included: a Ctrl-C at
 * any time asks for the ordered stop instead of killing the process half-way
 * (a signal's default action would skip every stop step). A signal after the
 * first one is reported to `onRepeat` and changes nothing: the stop is
 * already under way.
 */
export function listenForStop(options: { onSignal?: (signal: string) => void; onRepeat?: (signal: string) => void } = {}): StopRequest {
  let stoppedBy: string | undefined;
  const waiters = new Set<(why: string) => void>();
  const handler = (signal: NodeJS.Signals) => {
    if (stoppedBy) return options.onRepeat?.(signal);
    stoppedBy = signal;
    options.onSignal?.(signal);
    for (const wake of waiters) wake(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return {
    get stoppedBy() {
      return stoppedBy;
    },
    until(ms?: number): Promise<string> {
      if (stoppedBy) return Promise.resolve(stoppedBy);
      return new Promise((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(() => done("duration"), ms);
        const done = (why: string) => {
          waiters.delete(done);
          if (timer) clearTimeout(timer);
          resolve(why);
        };
        waiters.add(done);
      });
    },
    dispose() {
      for (const signal of STOP_SIGNALS) process.off(signal, handler);
      waiters.clear();
    },
  };
}

/** Resolve when the process is asked to stop (SIGINT / SIGTERM, the signal's name), or with "duration" after `ms`. */
export async function untilSignal(ms?: number): Promise<string> {
  const stop = listenForStop();
  try {
    return await stop.until(ms);
  } finally {
    stop.dispose();
  }
}
