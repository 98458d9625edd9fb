/** `kairos rollout <id> --policy random|heuristic|constant:<action> --episodes N --seed S`. */
import { z } from 'zod';
import { KairosError } from '../core/errors.js';
import { heuristicFor, heuristicIds } from '../envs/heuristics.js';
import { make } from '../envs/registry.js';
import { randomPolicy, runEpisodes, type Policy } from '../envs/rollout.js';
import type { Env } from '../envs/env.js';
import { parseJsonObject, parseOptions } from './options.js';
import { startProgress } from './progress.js';

const RolloutOptions = z.object({
  policy: z.string().regex(/^(random|heuristic|constant:.+)$/, 'random | heuristic | constant:<JSON action>'),
  episodes: z.number().int().positive(),
  seed: z.number().int().nonnegative(),
  options: z.string().optional(),
  maxEpisodeSteps: z.number().int().positive().optional(),
  json: z.boolean().optional(),
});

/** Builds the policy named on the command line. */
export function policyFromName(name: string, id: string, env: Env<any, any>, makeOptions: Record<string, unknown>): Policy<any, any> {
  if (name === 'random') return randomPolicy(env);
  if (name === 'heuristic') {
    const h = heuristicFor(id, makeOptions);
    if (!h) {
      throw new KairosError(`--policy heuristic: no heuristic ships for ${id}; envs with one: ${heuristicIds().join(', ')}`, 'invalid_option');
    }
    return (obs: Float32Array) => h(obs);
  }
  const text = name.slice('constant:'.length);
  let action: unknown;
  try {
    action = JSON.parse(text);
  } catch {
    throw new KairosError(`--policy constant:<action>: expected a JSON action such as constant:1 or constant:[0.5,-1], received ${JSON.stringify(text)}`, 'invalid_option');
  }
  const why = env.actionSpace.explain(action);
  if (why) throw new KairosError(`--policy ${name}: invalid action for ${id}: ${why} (action space ${String(env.actionSpace)})`, 'invalid_action');
  const fixed = Array.isArray(action) ? Float32Array.from(action as number[]) : action;
  return () => fixed;
}

/** Runs episodes and prints each return and length, then mean ± std. */
export function rolloutCommand(id: string, raw: Record<string, unknown>): number {
  const opts = parseOptions(RolloutOptions, raw, 'rollout');
  const makeOptions = parseJsonObject(opts.options, '--options');
  const env = make(id, opts.maxEpisodeSteps ? { ...makeOptions, maxEpisodeSteps: opts.maxEpisodeSteps } : makeOptions);
  try {
    const policy = policyFromName(opts.policy, id, env, makeOptions);
    const progress = opts.episodes >= 5 && !opts.json ? startProgress(opts.episodes, 'episodes', 'return {ret}') : undefined;
    const summary = runEpisodes(env, policy, {
      episodes: opts.episodes,
      seed: opts.seed,
      onEpisode: (_i, ret) => progress?.tick({ ret: ret.toFixed(1) }),
    });
    progress?.stop();
    if (opts.json) {
      console.log(JSON.stringify({ env: id, policy: opts.policy, seed: opts.seed, ...summary }));
      return 0;
    }
    console.log('episode  seed      return  length');
    summary.returns.forEach((r, i) => {
      console.log(`${String(i).padStart(7)}  ${String(opts.seed + i).padEnd(6)} ${r.toFixed(2).padStart(9)}  ${String(summary.lengths[i]).padStart(6)}`);
    });
    console.log(
      `${id} ${opts.policy}: mean return ${summary.meanReturn.toFixed(2)} ± ${summary.stdReturn.toFixed(2)} over ${opts.episodes} episodes, ` +
        `mean length ${summary.meanLength.toFixed(1)}, ${Math.round(summary.steps / Math.max(summary.seconds, 1e-9))} steps/s`,
    );
    return 0;
  } finally {
    env.close?.();
  }
}
