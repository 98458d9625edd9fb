/**
 * Box2D envs on planck: LunarLander-v3 (discrete and continuous), with Gymnasium 1.x's
 * dynamics, and their registrations (ids, strict option schemas, time limits and reward
 * thresholds as in `gymnasium/envs/__init__.py`).
 *
 * @example
 * import 'kairos/envs'; // registers box2dRegistrations
 * const env = make('LunarLander-v3', { enableWind: true });
 * const cont = make('LunarLanderContinuous-v3'); // = LunarLander-v3 with continuous: true
 * const direct = new LunarLander({ gravity: -5 }); // no wrappers
 */
import { z } from 'zod';
import type { EnvRegistration } from '../registry.js';
import { LunarLander, LunarLanderOptionsSchema } from './lunar-lander.js';

export {
  LunarLander,
  LunarLanderOptionsSchema,
  type LunarLanderAction,
  type LunarLanderInspection,
  type LunarLanderOptions,
} from './lunar-lander.js';
export { box2dHeuristics, lunarLanderHeuristic } from './heuristic.js';

/** Options of `make('LunarLanderContinuous-v3', ...)`: LunarLander's, with `continuous` defaulting to true. */
export const LunarLanderContinuousOptionsSchema = LunarLanderOptionsSchema.extend({
  continuous: z.boolean().default(true),
});

/** Registrations of the Box2D envs; `envs/builtin.ts` registers them. */
export const box2dRegistrations: EnvRegistration<any>[] = [
  {
    id: 'LunarLander-v3',
    entryPoint: (opts: z.output<typeof LunarLanderOptionsSchema>) => new LunarLander(opts),
    optionsSchema: LunarLanderOptionsSchema,
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    description: 'Land a craft on a pad with a main and two side engines; Discrete(4) or, with continuous, Box(2) (Klimov 2016).',
  },
  {
    id: 'LunarLanderContinuous-v3',
    entryPoint: (opts: z.output<typeof LunarLanderContinuousOptionsSchema>) => new LunarLander(opts),
    optionsSchema: LunarLanderContinuousOptionsSchema,
    maxEpisodeSteps: 1000,
    rewardThreshold: 200,
    description: 'LunarLander-v3 with continuous throttles [main, lateral] in [-1, 1] (continuous: true).',
  },
];
