/**
 * Hooks into a training run (SB3's callbacks). All optional; a hook may be async, and the
 * loop awaits it, so a callback can write files or draw a progress bar.
 *
 * @example
 * const printer: TrainCallback = { onEvaluation: (e) => console.log(e.step, e.meanReturn) };
 */
import type { FinishedEpisode } from './env-pool.js';

/** A line of the metrics log. */
export interface MetricsRecord {
  step: number;
  /** Seconds of training so far (excluding time before a resume is added back). */
  time: number;
  /** Env steps per second since the previous record. */
  sps: number;
  episodes: number;
  /** Mean return and length of the last 100 training episodes (NaN before the first). */
  episodeReturnMean: number;
  episodeLengthMean: number;
  /** The agent's stats (epsilon, ...) and its training metrics averaged since the last record. */
  [key: string]: number;
}

/** An evaluation during training. */
export interface EvaluationRecord {
  step: number;
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  episodes: number;
  returns: number[];
}

/** What the loop calls; see the module comment. */
export interface TrainCallback {
  onStart?(info: { step: number; totalSteps: number; resumed: boolean }): void | Promise<void>;
  /** After each vector step, with the step count (keep it cheap). */
  onStep?(info: { step: number; totalSteps: number; recentReturn: number; stats: () => Record<string, number> }): void;
  onEpisode?(episode: FinishedEpisode & { step: number }): void | Promise<void>;
  onLog?(record: MetricsRecord): void | Promise<void>;
  onEvaluation?(record: EvaluationRecord): void | Promise<void>;
  onCheckpoint?(info: { step: number; path: string }): void | Promise<void>;
  onEnd?(info: { step: number; interrupted: boolean }): void | Promise<void>;
}
