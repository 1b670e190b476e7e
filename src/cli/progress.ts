/** What one line of the training progress bar shows. */
export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number;
  durationMs: number;
}

const BAR_WIDTH = 24;

/** `[#########---------------] epoch 3/8  loss 0.0123  val 0.0145  0.21 s/epoch` */
export function renderProgress(p: EpochProgress, width = BAR_WIDTH): string {
  const done = p.epochs > 0 ? Math.min(width, Math.round((p.epoch / p.epochs) * width)) : 0;
  const bar = `[${"#".repeat(done)}${"-".repeat(width - done)}]`;
  const n = (x: number) => (Number.isFinite(x) ? x.toPrecision(3) : String(x));
  return `${bar} epoch ${p.epoch}/${p.epochs}  loss ${n(p.loss)}  val ${n(p.valLoss)}  ${(p.durationMs / 1000).toFixed(2)} s/epoch`;
}

/** The slice of a writable TTY stream the bar needs (process.stderr fits). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

/**
 * A one-line progress bar redrawn in place. Only on a terminal: when the
 * stream is not a TTY (a pipe, a log file, CI) it writes nothing, so logs are
 * not filled with carriage returns.
 */
export function createProgressBar(stream: ProgressStream) {
  const enabled = stream.isTTY === true;
  let drawn = false;
  return {
    enabled,
    update(progress: EpochProgress): void {
      if (!enabled) return;
      const line = renderProgress(progress).slice(0, Math.max(20, (stream.columns || 120) - 1));
      // \r back to the line start, \x1b[K clears what a longer previous line left.
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    /** Leave the bar on screen and move to a new line. */
    end(): void {
      if (enabled && drawn) stream.write("\n");
      drawn = false;
    },
  };
}

/** `[##########--------------] 412,000/1,000,000 events  183,204/s`; with no total (it cannot be known), `412,000 events  183,204/s`. */
export function renderCount(done: number, total: number | undefined, perSecond: number, unit = "events", width = BAR_WIDTH): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  if (total === undefined) return `${n(done)} ${unit}  ${n(perSecond)}/s`;
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${n(done)}/${n(total)} ${unit}  ${n(perSecond)}/s`;
}

/**
 * A count progress bar (`renderCount`) for long reads, redrawn at most every
 * `everyMs`; like `createProgressBar`, nothing at all when not on a terminal.
 */
export function createCountBar(stream: ProgressStream, unit = "events", everyMs = 100, now: () => number = () => performance.now()) {
  const enabled = stream.isTTY === true;
  const started = now();
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = (done: number, total: number | undefined) => {
    const seconds = (now() - started) / 1000;
    const line = renderCount(done, total, seconds > 0 ? done / seconds : 0, unit).slice(0, Math.max(20, (stream.columns || 120) - 1));
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
  };
  return {
    enabled,
    /** `total` undefined: a count without a bar. */
    update(done: number, total: number | undefined): void {
      if (!enabled) return;
      const t = now();
      if (t - drawnAt < everyMs) return;
      drawnAt = t;
      draw(done, total);
    },
    /** Draw the final count and move to a new line. */
    end(done: number, total = done): void {
      if (!enabled) return;
      if (drawn || done > 0) {
        draw(done, total);
        stream.write("\n");
      }
      drawn = false;
    },
  };
}
