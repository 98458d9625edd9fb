/**
 * Policy evaluation: full episodes on separate env copies with fixed seeds, actions chosen
 * in batches across episodes that run side by side (one forward pass per step of all of
 * them, not one per episode).
 *
 * Episode k is reset with seed `seed + k`, whatever the batching, so two agents evaluated
 * with the same seed face the same start states.
 *
 * @example
 * const result = evaluateAgent(agent, () => make('CartPole-v1'), { episodes: 100, seed: 10_000 });
 * console.log(result.meanReturn, result.stdReturn);
 */
import { ValidationError } from '../core/errors.js';
import { flattenInto, flatdim } from '../core/spaces.js';
import type { Agent } from '../agents/agent.js';
import type { Env } from '../envs/env.js';

/** Options of {@link evaluateAgent}. */
export interface EvaluateOptions {
  episodes: number;
  /** Episode k uses seed `seed + k`. */
  seed: number;
  /** Greedy/mean actions (default true). */
  deterministic?: boolean;
  /** Episodes run side by side (default min(episodes, 16)). */
  parallel?: number;
  /** Safety cap on steps per episode when the env has no time limit (default 100 000). */
  maxEpisodeSteps?: number;
  /** Called after each finished episode. */
  onEpisode?: (index: number, ret: number, length: number) => void;
}

/** Returns and lengths of evaluation episodes, in episode order. */
export interface EvaluationResult {
  returns: number[];
  lengths: number[];
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
  seconds: number;
}

/** Summary statistics of a list of returns and lengths. */
export function summarizeEpisodes(returns: number[], lengths: number[], seconds: number): EvaluationResult {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { returns, lengths, meanReturn: mean, stdReturn: std, meanLength: lengths.reduce((a, b) => a + b, 0) / n, seconds };
}

/** Runs `episodes` evaluation episodes of `agent`; see the module comment. */
export function evaluateAgent(agent: Agent, makeEnv: (index: number) => Env, options: EvaluateOptions): EvaluationResult {
  const { episodes, seed, deterministic = true, maxEpisodeSteps = 100_000, onEpisode } = options;
  if (!Number.isInteger(episodes) || episodes < 1) throw new ValidationError('episodes', 'a positive integer', episodes, 'evaluate');
  const parallel = Math.min(episodes, options.parallel ?? 16);
  const start = performance.now();
  const envs = Array.from({ length: parallel }, (_, i) => makeEnv(i));
  const space = envs[0].observationSpace;
  const d = flatdim(space);
  if (d !== agent.obsDim) throw new ValidationError('env', `observations of size ${agent.obsDim} (the agent's)`, d, 'evaluate');
  const numActions = 'n' in envs[0].actionSpace ? (envs[0].actionSpace as { n: number }).n : 0;
  const returns = new Array<number>(episodes).fill(0);
  const lengths = new Array<number>(episodes).fill(0);
  // Slot j runs episode assigned[j] (−1 when idle); next episode to hand out is `next`.
  const assigned = new Int32Array(parallel).fill(-1);
  const obs = new Float32Array(parallel * d);
  let masks: Uint8Array | null = null;
  let next = 0;
  let running = 0;
  const begin = (j: number): void => {
    if (next >= episodes) {
      assigned[j] = -1;
      return;
    }
    const k = next++;
    assigned[j] = k;
    running++;
    const { observation, info } = envs[j].reset({ seed: seed + k });
    flattenInto(space, observation, obs, j * d);
    setMask(j, info.actionMask);
  };
  const setMask = (j: number, mask: Uint8Array | undefined): void => {
    if (mask && !masks) masks = new Uint8Array(parallel * numActions).fill(1);
    if (!masks) return;
    if (mask) masks.set(mask, j * numActions);
    else masks.fill(1, j * numActions, (j + 1) * numActions);
  };
  try {
    for (let j = 0; j < parallel; j++) begin(j);
    while (running > 0) {
      const { actions } = agent.act(obs, parallel, { deterministic, masks });
      const actDim = actions.length / parallel;
      for (let j = 0; j < parallel; j++) {
        const k = assigned[j];
        if (k < 0) continue;
        const a = actDim === 1 && numActions > 0 ? actions[j] : actions.slice(j * actDim, (j + 1) * actDim);
        const r = envs[j].step(a);
        returns[k] += r.reward;
        lengths[k]++;
        flattenInto(space, r.observation, obs, j * d);
        setMask(j, r.info.actionMask);
        if (r.terminated || r.truncated || lengths[k] >= maxEpisodeSteps) {
          running--;
          onEpisode?.(k, returns[k], lengths[k]);
          begin(j);
        }
      }
    }
  } finally {
    for (const e of envs) e.close?.();
  }
  return summarizeEpisodes(returns, lengths, (performance.now() - start) / 1000);
}
