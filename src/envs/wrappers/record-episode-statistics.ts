/**
 * Adds `info.episode = { r, l, t }` (return, length, wall seconds) on the last step of
 * every episode and keeps the most recent `bufferLength` of each in queues, as
 * Gymnasium 1.x's `gymnasium.wrappers.RecordEpisodeStatistics` does (its `return_queue`,
 * `length_queue`, `time_queue`, `episode_count`).
 *
 * The step that ends an episode gets a new info object (`{ ...info, episode }`): the env's
 * own info may be the frozen `EMPTY_INFO`, and copying only at episode end keeps other
 * steps allocation-free.
 *
 * @example
 * const env = new RecordEpisodeStatistics(make('CartPole-v1'), { bufferLength: 100 });
 * env.reset({ seed: 0 });
 * for (;;) {
 *   const r = env.step(0);
 *   if (r.terminated || r.truncated) { console.log(r.info.episode); break; } // { r: 9, l: 9, t: 0.0001 }
 * }
 * env.returnQueue; // most recent returns, oldest first
 */
import { KairosError, ValidationError } from '../../core/errors.js';
import type { EpisodeStatistics, Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/** Options of {@link RecordEpisodeStatistics}. */
export interface RecordEpisodeStatisticsOptions {
  /** How many recent episodes the queues keep (Gymnasium's `buffer_length`, default 100). */
  bufferLength?: number;
  /** Info key for the statistics (Gymnasium's `stats_key`, default `"episode"`). */
  statsKey?: string;
}

/** A fixed-capacity FIFO of numbers; the oldest value is dropped when full. */
class RingQueue {
  private readonly data: Float64Array;
  private start = 0;
  private count = 0;
  constructor(readonly capacity: number) {
    this.data = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.count < this.capacity) {
      this.data[(this.start + this.count) % this.capacity] = v;
      this.count++;
    } else {
      this.data[this.start] = v;
      this.start = (this.start + 1) % this.capacity;
    }
  }
  toArray(): number[] {
    const out = new Array<number>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.data[(this.start + i) % this.capacity];
    return out;
  }
  get length(): number {
    return this.count;
  }
  mean(): number {
    if (this.count === 0) return NaN;
    let s = 0;
    for (let i = 0; i < this.count; i++) s += this.data[(this.start + i) % this.capacity];
    return s / this.count;
  }
  clear(): void {
    this.start = 0;
    this.count = 0;
  }
}

/**
 * Adds `info.episode` on the last step of each episode (see the module comment).
 *
 * @example
 * const env = new RecordEpisodeStatistics(make('CartPole-v1'));
 * env.meanReturn; // over the last 100 episodes
 */
export class RecordEpisodeStatistics<Obs = unknown, Act = unknown> extends Wrapper<Obs, Act> {
  readonly bufferLength: number;
  readonly statsKey: string;
  /** Episodes finished since the wrapper was created. */
  episodeCount = 0;
  private episodeReturn = 0;
  private episodeLength = 0;
  private episodeStart = 0;
  private readonly returns: RingQueue;
  private readonly lengths: RingQueue;
  private readonly times: RingQueue;

  constructor(env: Env<Obs, Act>, options: RecordEpisodeStatisticsOptions = {}) {
    super(env);
    this.bufferLength = options.bufferLength ?? 100;
    this.statsKey = options.statsKey ?? 'episode';
    if (!Number.isInteger(this.bufferLength) || this.bufferLength <= 0) {
      throw new ValidationError('bufferLength', 'a positive integer', this.bufferLength, 'RecordEpisodeStatistics');
    }
    this.returns = new RingQueue(this.bufferLength);
    this.lengths = new RingQueue(this.bufferLength);
    this.times = new RingQueue(this.bufferLength);
  }

  /** Returns of the most recent episodes (at most `bufferLength`), oldest first. */
  get returnQueue(): number[] {
    return this.returns.toArray();
  }

  /** Lengths of the most recent episodes, oldest first. */
  get lengthQueue(): number[] {
    return this.lengths.toArray();
  }

  /** Wall-clock seconds of the most recent episodes, oldest first. */
  get timeQueue(): number[] {
    return this.times.toArray();
  }

  /** Mean of {@link returnQueue} (NaN before the first episode ends), without copying it. */
  get meanReturn(): number {
    return this.returns.mean();
  }

  /** Mean of {@link lengthQueue} (NaN before the first episode ends). */
  get meanLength(): number {
    return this.lengths.mean();
  }

  /** Empties the queues (e.g. between training and evaluation phases). */
  clearQueues(): void {
    this.returns.clear();
    this.lengths.clear();
    this.times.clear();
  }

  override reset(opts?: ResetOptions): ResetResult<Obs> {
    const r = this.env.reset(opts);
    this.episodeReturn = 0;
    this.episodeLength = 0;
    this.episodeStart = performance.now();
    return r;
  }

  override step(action: Act): StepResult<Obs> {
    const r = this.env.step(action);
    this.episodeReturn += r.reward;
    this.episodeLength++;
    if (r.terminated || r.truncated) {
      if (this.statsKey in r.info) {
        // Gymnasium asserts the same: a second RecordEpisodeStatistics (or the env) already
        // wrote this key, and silently overwriting it would hide which one is reported.
        throw new KairosError(
          `RecordEpisodeStatistics: info.${this.statsKey} is already set by the wrapped env; pass a different statsKey`,
          'duplicate_info_key',
        );
      }
      // Seconds rounded to 6 decimals (microseconds), as Gymnasium rounds `t`.
      const seconds = Math.round((performance.now() - this.episodeStart) * 1000) / 1e6;
      const episode: EpisodeStatistics = { r: this.episodeReturn, l: this.episodeLength, t: seconds };
      r.info = { ...r.info, [this.statsKey]: episode };
      this.returns.push(this.episodeReturn);
      this.lengths.push(this.episodeLength);
      this.times.push(seconds);
      this.episodeCount++;
    }
    return r;
  }
}
