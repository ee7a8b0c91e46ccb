import cliProgress from 'cli-progress';

/** A progress display for command-line tools; `update` may be called as often as you like. */
export interface Progress {
  /** fraction in 0..1; detail is a short text shown after the percentage (e.g. "fitting ALS"). */
  update(fraction: number, detail?: string): void;
  /**
   * Ends the display (the bar is left where it stands; the line mode prints a closing line saying how it
   * ended: `left` is a job this command stops following while it goes on elsewhere).
   */
  stop(outcome?: 'done' | 'failed' | 'left'): void;
}

export interface ProgressOptions {
  /** Where to draw; default process.stdout. */
  stream?: NodeJS.WriteStream;
  /** Seconds between lines when the stream is not a terminal; default 5. */
  lineEverySeconds?: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * A bar on a terminal; on a pipe or a CI log, where a redrawn bar turns into noise, one line every
 * few seconds ("import: 42% (12.3 s)") and a closing line.
 */
export function createProgress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stdout;
  const started = Date.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {duration_formatted} | ETA {eta_formatted} {detail}`, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    // 1000 steps so the percentage moves smoothly on long imports.
    bar.start(1000, 0, { detail: '' });
    return {
      update: (fraction, detail = '') => bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000), { detail }),
      stop: () => bar.stop(),
    };
  }
  const every = (opts.lineEverySeconds ?? 5) * 1000;
  let lastLine = started;
  let last = { fraction: 0, detail: '' };
  const line = () => `${label}: ${Math.floor(last.fraction * 100)}%${last.detail ? ` ${last.detail}` : ''} (${seconds(Date.now() - started)})\n`;
  const tick = () => {
    if (Date.now() - lastLine < every) return;
    lastLine = Date.now();
    stream.write(line());
  };
  // A long step reports nothing until it ends (tuning, a minute or more): the line still comes, with the
  // time, so a log shows the command is alive. The timer never keeps the process running.
  const heartbeat = setInterval(tick, every);
  heartbeat.unref();
  return {
    update(fraction, detail = '') {
      last = { fraction: Math.min(1, Math.max(0, fraction)), detail };
      tick();
    },
    stop(outcome = 'done') {
      clearInterval(heartbeat);
      const how = outcome === 'done' ? 'done in' : outcome === 'left' ? 'no longer followed (it goes on) after' : 'failed after';
      stream.write(`${label}: ${how} ${seconds(Date.now() - started)}\n`);
    },
  };
}
