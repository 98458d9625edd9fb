/**
 * Lands LunarLander-v3 with the shipped heuristic controller and compares it with random
 * actions over 20 seeded episodes.
 *
 *   npx tsx examples/lunar-lander-heuristic.ts
 */
import { heuristicFor, make, randomPolicy, runEpisodes } from '../src/envs/index.js';

const env = make<Float32Array, number>('LunarLander-v3');
const heuristic = heuristicFor('LunarLander-v3')!;

const landed = runEpisodes(env, (obs) => heuristic(obs) as number, { episodes: 20, seed: 0 });
const random = runEpisodes(env, randomPolicy(env), { episodes: 20, seed: 0 });

console.log(`heuristic: ${landed.meanReturn.toFixed(1)} ± ${landed.stdReturn.toFixed(1)}`);
console.log(`random:    ${random.meanReturn.toFixed(1)} ± ${random.stdReturn.toFixed(1)}`);
