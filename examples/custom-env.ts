/**
 * Writes a small env against the Env contract, registers it, checks it with the env
 * checker and runs it through make() with a time limit.
 *
 *   npx tsx examples/custom-env.ts
 */
import { z } from 'zod';
import { Box, Discrete, type Rng } from '../src/core/index.js';
import { EMPTY_INFO, checkEnv, make, register, runEpisodes, seedEnvRng, type Env, type ResetOptions } from '../src/envs/index.js';

/** A walk on a line: reach +size for +1, fall off at -size for -1. */
class LineWalk implements Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace = new Discrete(2);
  private pos = 0;
  private rng: Rng | undefined;

  constructor(private readonly size: number) {
    this.observationSpace = new Box(-size, size, [1]);
  }

  reset(opts?: ResetOptions) {
    this.rng = seedEnvRng(this.rng, opts?.seed);
    this.pos = this.rng.integers(-1, 2);
    return { observation: Float32Array.of(this.pos), info: EMPTY_INFO };
  }

  step(action: number) {
    this.pos += action === 1 ? 1 : -1;
    const terminated = Math.abs(this.pos) >= this.size;
    const reward = terminated ? Math.sign(this.pos) : 0;
    return { observation: Float32Array.of(this.pos), reward, terminated, truncated: false, info: EMPTY_INFO };
  }
}

register({
  id: 'LineWalk-v0',
  entryPoint: (o: { size: number }) => new LineWalk(o.size),
  optionsSchema: z.strictObject({ size: z.number().int().min(2).default(5) }),
  maxEpisodeSteps: 50,
});

const env = make<Float32Array, number>('LineWalk-v0', { size: 4 });
const report = checkEnv(env, { seed: 0 });
console.log(report.ok ? 'checker: ok' : report.errors.join('\n'));
const stats = runEpisodes(env, () => 1, { episodes: 5, seed: 0 });
console.log('always right:', stats.returns);
