/**
 * Exploration noise for deterministic policies (DDPG, TD3): one process per env and action
 * dimension, added to the actor's output in the actor's [−1, 1] action scale (as SB3 does, so
 * the RL Zoo's `noise_std` values carry over), each seeded and with its state saved in
 * checkpoints.
 *
 * - Gaussian: ε_t ~ N(μ, σ²), independent across steps (Fujimoto et al. 2018, §6.1: σ = 0.1).
 * - Ornstein-Uhlenbeck (Uhlenbeck & Ornstein 1930), the temporally correlated noise of
 *   Lillicrap et al. 2016 (§7: θ = 0.15, σ = 0.2), discretised by Euler-Maruyama as SB3's
 *   `OrnsteinUhlenbeckActionNoise` (dt = 1e-2):
 *     x_{t+1} = x_t + θ(μ − x_t)·dt + σ·√dt·N(0, 1).
 *   This is an AR(1) process with coefficient φ = 1 − θ·dt and innovation variance σ²·dt, so
 *   its stationary variance is σ²·dt / (1 − φ²) = σ² / (θ·(2 − θ·dt)), which tends to the
 *   continuous-time σ² / (2θ) as dt → 0. A reset puts x back to its initial value (0), as SB3
 *   does at the end of every episode.
 *
 * Both are "a Gaussian given the current state": {@link ActionNoise.conditional} gives the
 * mean and standard deviation of the next draw, which is what `act` needs to report the
 * density of the action it took.
 *
 * @example
 * const noise = createActionNoise({ type: 'ornstein-uhlenbeck', std: 0.5 }, 1, 1, new Rng(0));
 * const out = new Float64Array(1);
 * noise.sample(out); // advances the process
 * noise.reset(0);    // env 0's episode ended
 */
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { Rng, type RngState } from '../../core/rng.js';

/** Noise settings (the `actionNoise` field of the DDPG and TD3 configs). */
export const ActionNoiseSchema = z
  .object({
    /** `normal` (TD3 paper), `ornstein-uhlenbeck` (DDPG paper) or `none` (SB3's default). */
    type: z.enum(['normal', 'ornstein-uhlenbeck', 'none']),
    /** σ in the actor's [−1, 1] scale (RL Zoo `noise_std`). */
    std: z.number().nonnegative(),
    /** Mean μ of the noise (0 in every published setting). */
    mean: z.number().default(0),
    /** OU mean-reversion rate θ (SB3 and Lillicrap et al. 2016: 0.15). */
    theta: z.number().positive().default(0.15),
    /** OU time step dt (SB3 / OpenAI Baselines: 1e-2). */
    dt: z.number().positive().default(1e-2),
  })
  .strict();

/** Noise settings as written by a user. */
export type ActionNoiseConfig = z.input<typeof ActionNoiseSchema>;

/** Snapshot of a noise process for checkpoints. */
export interface ActionNoiseState {
  kind: string;
  /** OU state per env and dimension (empty for Gaussian noise). */
  x: number[];
  rng: RngState;
}

/** Noise for `n` envs × `dim` action dimensions. */
export interface ActionNoise {
  readonly kind: 'normal' | 'ornstein-uhlenbeck';
  readonly n: number;
  readonly dim: number;
  /**
   * Mean and standard deviation of the next draw for env `i` and dimension `d`, given the
   * current state: the draw is mean + std·N(0, 1).
   */
  conditional(i: number, d: number): { mean: number; std: number };
  /** Draws the next noise for every env into `out` `[n × dim]` and advances the state. */
  sample(out: Float64Array): void;
  /** Restarts env `i`'s process (all envs when omitted). */
  reset(i?: number): void;
  getState(): ActionNoiseState;
  setState(state: ActionNoiseState): void;
}

/** Independent Gaussian noise N(mean, std²) at every step. */
export class GaussianActionNoise implements ActionNoise {
  readonly kind = 'normal' as const;

  constructor(
    readonly n: number,
    readonly dim: number,
    readonly std: number,
    readonly mean: number,
    private readonly rng: Rng,
  ) {}

  conditional(): { mean: number; std: number } {
    return { mean: this.mean, std: this.std };
  }

  sample(out: Float64Array): void {
    for (let k = 0; k < this.n * this.dim; k++) out[k] = this.mean + this.std * this.rng.normal();
  }

  reset(): void {}

  getState(): ActionNoiseState {
    return { kind: this.kind, x: [], rng: this.rng.getState() };
  }

  setState(state: ActionNoiseState): void {
    if (state?.kind !== this.kind) throw new ValidationError('actionNoise.kind', `"${this.kind}"`, state?.kind, 'noise state');
    this.rng.setState(state.rng);
  }
}

/** Ornstein-Uhlenbeck noise, Euler-Maruyama discretised; see the module comment. */
export class OrnsteinUhlenbeckNoise implements ActionNoise {
  readonly kind = 'ornstein-uhlenbeck' as const;
  /** Current state x `[n × dim]`. */
  readonly x: Float64Array;
  private readonly stepStd: number;

  constructor(
    readonly n: number,
    readonly dim: number,
    readonly std: number,
    readonly mean: number,
    readonly theta: number,
    readonly dt: number,
    private readonly rng: Rng,
  ) {
    this.x = new Float64Array(n * dim);
    this.stepStd = std * Math.sqrt(dt);
  }

  /** Stationary variance of the discretised process, σ²·dt / (1 − (1 − θ·dt)²). */
  get stationaryVariance(): number {
    const phi = 1 - this.theta * this.dt;
    return (this.std * this.std * this.dt) / (1 - phi * phi);
  }

  conditional(i: number, d: number): { mean: number; std: number } {
    const x = this.x[i * this.dim + d];
    return { mean: x + this.theta * (this.mean - x) * this.dt, std: this.stepStd };
  }

  sample(out: Float64Array): void {
    const { x, theta, dt, mean, stepStd } = this;
    for (let k = 0; k < this.n * this.dim; k++) {
      x[k] = x[k] + theta * (mean - x[k]) * dt + stepStd * this.rng.normal();
      out[k] = x[k];
    }
  }

  reset(i?: number): void {
    if (i === undefined) this.x.fill(0);
    else this.x.fill(0, i * this.dim, (i + 1) * this.dim);
  }

  getState(): ActionNoiseState {
    return { kind: this.kind, x: Array.from(this.x), rng: this.rng.getState() };
  }

  setState(state: ActionNoiseState): void {
    if (state?.kind !== this.kind) throw new ValidationError('actionNoise.kind', `"${this.kind}"`, state?.kind, 'noise state');
    if (!Array.isArray(state.x) || state.x.length !== this.x.length || state.x.some((v) => typeof v !== 'number')) {
      throw new ValidationError('actionNoise.x', `${this.x.length} numbers`, state.x, 'noise state');
    }
    this.x.set(state.x);
    this.rng.setState(state.rng);
  }
}

/** Builds the noise a config asks for, or null for `none` / σ = 0. */
export function createActionNoise(config: ActionNoiseConfig, n: number, dim: number, rng: Rng): ActionNoise | null {
  const c = ActionNoiseSchema.parse(config);
  if (c.type === 'none' || c.std === 0) return null;
  if (c.type === 'normal') return new GaussianActionNoise(n, dim, c.std, c.mean, rng);
  return new OrnsteinUhlenbeckNoise(n, dim, c.std, c.mean, c.theta, c.dt, rng);
}
