/** `kairos eval <run> --episodes 100 [--seed] [--stochastic] [--best] [--env <id> --options <json>] [--json]`: evaluates a run's policy. */
import { z } from 'zod';
import '../agents/builtin.js';
import { KairosError } from '../core/errors.js';
import { initTensorBackend } from '../tensor/backend.js';
import { evaluateAgent } from '../train/evaluate.js';
import { envFactoryFor, loadRunAgent, loadRunSpec } from '../train/run.js';
import { parseJsonObject, parseOptions } from './options.js';
import { startProgress } from './progress.js';

const EvalOptions = z
  .object({
    episodes: z.number().int().positive(),
    seed: z.number().int().nonnegative().optional(),
    stochastic: z.boolean().optional(),
    best: z.boolean().optional(),
    env: z.string().min(1).optional(),
    options: z.string().optional(),
    json: z.boolean().optional(),
  })
  .strict();

/** Runs `kairos eval`; returns the exit code. */
export async function evalCommand(runDir: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(EvalOptions, raw, 'eval');
  await initTensorBackend();
  const spec = await loadRunSpec(runDir);
  if (opts.options !== undefined && opts.env === undefined) throw new KairosError('--options: give --env with it (the options are for that env)', 'invalid_option');
  if (opts.env !== undefined) spec.env = { id: opts.env, options: parseJsonObject(opts.options, '--options') };
  // Offline runs trained from a log that names no simulator record env 'none'.
  if (spec.env.id === 'none') throw new KairosError(`${runDir} was trained from a log without a simulator: pass --env <id> (and --options) to evaluate it in one`, 'invalid_option');
  const agent = await loadRunAgent(runDir, { model: opts.best ? 'best' : 'final' });
  try {
    const seed = opts.seed ?? spec.evalSeed;
    const bar = !opts.json && process.stderr.isTTY && opts.episodes >= 5 ? startProgress(opts.episodes, 'episodes') : null;
    const r = evaluateAgent(agent, envFactoryFor(spec), { episodes: opts.episodes, seed, deterministic: !opts.stochastic, onEpisode: () => bar?.tick() });
    bar?.stop();
    if (opts.json) {
      console.log(JSON.stringify({ run: runDir, model: opts.best ? 'best' : 'final', env: spec.env.id, algorithm: spec.algorithm, seed, ...r }));
    } else {
      console.log(`${spec.algorithm} on ${spec.env.id}${opts.best ? ' (best policy)' : ''}: mean return ${r.meanReturn.toFixed(2)} ± ${r.stdReturn.toFixed(2)} over ${opts.episodes} episodes (seeds ${seed}..${seed + opts.episodes - 1}, ${opts.stochastic ? 'stochastic' : 'greedy'} actions), mean length ${r.meanLength.toFixed(1)}`);
    }
    return 0;
  } finally {
    agent.dispose();
  }
}
