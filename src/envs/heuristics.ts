/**
 * Known hand-written controllers for built-in envs (used by `kairos rollout --policy
 * heuristic` and as sanity baselines in benchmarks).
 */
import { box2dHeuristics } from './box2d/index.js';
import { classicHeuristics } from './classic/index.js';
import { simHeuristicFor, simHeuristicIds } from './sims/index.js';

/** A stateless controller mapping an observation to an action. */
export type Heuristic = (obs: Float32Array) => number | Float32Array;

const HEURISTICS: Record<string, Heuristic> = { ...classicHeuristics, ...box2dHeuristics };

/**
 * The heuristic controller for `id`, or undefined when none ships. LunarLander's depends
 * on `continuous`, so pass the make options.
 *
 * @example
 * const policy = heuristicFor('LunarLander-v3', { continuous: true });
 */
export function heuristicFor(id: string, makeOptions: Record<string, unknown> = {}): Heuristic | undefined {
  if (id === 'LunarLander-v3' && makeOptions.continuous === true) return HEURISTICS['LunarLanderContinuous-v3'];
  // The simulators' controllers depend on their options (sims/index.ts).
  const sim = simHeuristicFor(id, makeOptions);
  if (sim) return sim;
  return HEURISTICS[id];
}

/** Ids that have a heuristic. */
export function heuristicIds(): string[] {
  return [...Object.keys(HEURISTICS), ...simHeuristicIds()].sort();
}
