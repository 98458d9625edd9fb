/**
 * A progress bar on stderr for long CLI jobs (cli-progress). It draws only on a TTY, so
 * logs and CI output stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(payload?: Record<string, string | number>): void;
  /** Sets the position (e.g. env steps) and fields. */
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/** Starts a bar for `total` units labelled `label`, e.g. "episodes". */
export function startProgress(total: number, label: string, fields = ''): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `{bar} {value}/{total} ${label} | {eta_formatted} left${fields ? ` | ${fields}` : ''}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (payload) => bar.increment(1, payload),
    update: (value, payload) => bar.update(value, payload),
    stop: () => bar.stop(),
  };
}
