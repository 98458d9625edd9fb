/**
 * Observation and reward normalisation kept inside the agent, so their running statistics
 * are saved with its state. (The env wrappers `NormalizeObservation` / `NormalizeReward`
 * compute the same, but the training loop restores envs on resume by replaying the current
 * episode's actions, which would update a wrapper's statistics a second time; here they are
 * part of the checkpoint and a resumed run matches an uninterrupted one.)
 *
 * Both follow SB3's `VecNormalize` (from OpenAI Baselines), as used by the rl-baselines3-zoo
 * presets with `normalize: true` and by CleanRL's continuous PPO (Huang et al. 2022,
 * details 4-5 of the continuous-action list):
 * - observations: clip((x − μ) / √(σ² + 1e-8), ±10), statistics updated with every batch of
 *   observations the policy acts on;
 * - rewards: R ← γR + r per env, statistics of R updated, r' = clip(r / √(Var R + 1e-8), ±10),
 *   R reset to 0 at every episode end (terminated or truncated). The mean is not subtracted.
 *
 * @example
 * const obsNorm = new ObsNormalizer(4, { clip: 10 });
 * obsNorm.normalize(obs, out); obsNorm.update(obs, n);
 */
import { RunningMeanStd, type RunningMeanStdState } from '../../envs/wrappers/running-mean-std.js';

/** Running observation normaliser. */
export class ObsNormalizer {
  readonly rms: RunningMeanStd;

  constructor(readonly dim: number, readonly options: { clip: number; epsilon: number }) {
    this.rms = new RunningMeanStd([dim]);
  }

  /** Writes the normalised rows of `x` into `out` (may be `x`). */
  normalize(x: ArrayLike<number>, out: Float32Array): Float32Array {
    return this.rms.normalize(x, out, this.options.epsilon, this.options.clip);
  }

  /** Adds `n` rows to the statistics. */
  update(x: ArrayLike<number>, n: number): void {
    this.rms.updateBatch(x, n);
  }

  getState(): RunningMeanStdState {
    return this.rms.getState();
  }

  setState(state: RunningMeanStdState): void {
    this.rms.setState(state);
  }
}

/** Saved state of a {@link RewardNormalizer}. */
export interface RewardNormalizerState {
  rms: RunningMeanStdState;
  returns: number[];
}

/** Running reward scaler (per-env discounted returns). */
export class RewardNormalizer {
  readonly rms = new RunningMeanStd([]);
  returns: Float64Array;

  constructor(readonly n: number, readonly options: { gamma: number; clip: number; epsilon: number }) {
    this.returns = new Float64Array(n);
  }

  /** Scales one vector step of rewards into `out`, updating the statistics; resets R where `ended`. */
  scale(rewards: ArrayLike<number>, ended: (i: number) => boolean, out: Float64Array): Float64Array {
    const { gamma, clip, epsilon } = this.options;
    for (let i = 0; i < this.n; i++) this.returns[i] = this.returns[i] * gamma + rewards[i];
    this.rms.updateBatch(this.returns, this.n);
    const std = Math.sqrt(this.rms.var[0] + epsilon);
    for (let i = 0; i < this.n; i++) {
      const r = rewards[i] / std;
      out[i] = r > clip ? clip : r < -clip ? -clip : r;
      if (ended(i)) this.returns[i] = 0;
    }
    return out;
  }

  getState(): RewardNormalizerState {
    return { rms: this.rms.getState(), returns: Array.from(this.returns) };
  }

  setState(state: RewardNormalizerState): void {
    this.rms.setState(state.rms);
    if (state.returns.length !== this.n) throw new Error(`RewardNormalizer: state for ${state.returns.length} envs, agent has ${this.n}`);
    this.returns.set(state.returns);
  }
}
