/**
 * Runs a policy for whole episodes and reports returns and lengths. Episode i is reset
 * with seed `seed + i`, so any single episode can be replayed on its own.
 *
 * @example
 * const env = make('CartPole-v1');
 * const stats = runEpisodes(env, randomPolicy(env), { episodes: 10, seed: 0 });
 * console.log(stats.meanReturn);
 */
import { KairosError } from '../core/errors.js';
import { Rng, assertSeed } from '../core/rng.js';
import type { Env } from './env.js';

/** Maps an observation to an action; `rng` is a seeded stream for stochastic policies. */
export type Policy<Obs = unknown, Act = unknown> = (obs: Obs, rng: Rng) => Act;

export interface RunEpisodesOptions {
  episodes: number;
  /** Seed of episode 0; episode i uses seed + i. The policy's stream is seeded with `seed` too. */
  seed: number;
  /** Stops an episode after this many steps even without a time limit (default 1e6). */
  maxSteps?: number;
  /** Called after each episode, e.g. to advance a progress bar. */
  onEpisode?: (index: number, ret: number, length: number) => void;
}

export interface EpisodeSummary {
  returns: number[];
  lengths: number[];
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  steps: number;
  seconds: number;
}

/** A policy that samples the action space uniformly. */
export function randomPolicy<Act>(env: Env<unknown, Act>): Policy<unknown, Act> {
  return (_obs, rng) => env.actionSpace.sample(rng);
}

/** Runs `options.episodes` full episodes of `policy` on `env`. */
export function runEpisodes<Obs, Act>(env: Env<Obs, Act>, policy: Policy<Obs, Act>, options: RunEpisodesOptions): EpisodeSummary {
  const { episodes, seed, maxSteps = 1_000_000, onEpisode } = options;
  if (!Number.isInteger(episodes) || episodes <= 0) {
    throw new KairosError(`episodes: expected a positive integer, received ${episodes}`, 'invalid_argument');
  }
  assertSeed(seed);
  const rng = new Rng(seed);
  const returns: number[] = [];
  const lengths: number[] = [];
  const start = performance.now();
  let steps = 0;
  for (let ep = 0; ep < episodes; ep++) {
    let { observation } = env.reset({ seed: seed + ep });
    let ret = 0;
    let len = 0;
    for (;;) {
      const r = env.step(policy(observation, rng));
      ret += r.reward;
      len++;
      observation = r.observation;
      if (r.terminated || r.truncated || len >= maxSteps) break;
    }
    steps += len;
    returns.push(ret);
    lengths.push(len);
    onEpisode?.(ep, ret, len);
  }
  const meanReturn = returns.reduce((a, b) => a + b, 0) / episodes;
  const variance = returns.reduce((a, b) => a + (b - meanReturn) ** 2, 0) / episodes;
  return {
    returns,
    lengths,
    meanReturn,
    stdReturn: Math.sqrt(variance),
    meanLength: lengths.reduce((a, b) => a + b, 0) / episodes,
    steps,
    seconds: (performance.now() - start) / 1000,
  };
}
