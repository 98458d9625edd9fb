/**
 * Applied and exact simulators: AdsSupply-v0, NotificationDelivery-v0, StringGame-v0,
 * GridWorld-v0, LQR-v0 and ActionSequence-v0 (the recurrent-Q test task), their registrations, their baseline controllers and their exact
 * references (DP, brute force, value iteration, Riccati). See docs/sims.md.
 *
 * @example
 * import 'kairos/envs'; // registers simRegistrations
 * const env = make('AdsSupply-v0', { fatigueStep: 0.25 });
 * const { value, policy } = solveAdsSupply({ fatigueStep: 0.25 });
 */
import type { EnvRegistration } from '../registry.js';
import { adsMyopicPolicy, adsSupplyRegistration } from './ads-supply.js';
import { gridWorldRegistration, gridWorldValueIteration } from './grid-world.js';
import { lqrRegistration, lqrRiccatiPolicy } from './lqr.js';
import { bestNotificationSpacing, notificationDeliveryRegistration, notificationSpacingPolicy } from './notification-delivery.js';
import { stringGameRegistration } from './string-game.js';

export * from './ads-supply.js';
export * from './ads-supply-dp.js';
export * from './notification-delivery.js';
export * from './string-game.js';
export * from './grid-world.js';
export * from './lqr.js';
export * from './action-sequence.js';
// The LQR solvers; the small matrix helpers (matMul, solve, ...) stay module-private names
// of lqr-riccati.ts so they cannot clash with the tensor layer's exports.
export {
  finiteHorizonLqr,
  lqrAverageCost,
  lqrOptimalCost,
  lqrPolicyCost,
  riccatiStep,
  solveDiscreteRiccati,
  type FiniteHorizonLqr,
  type LqrProblem,
  type Matrix,
  type RiccatiSolution,
} from './lqr-riccati.js';

/** Registrations of the simulators in this folder; `envs/builtin.ts` registers them. */
export const simRegistrations: EnvRegistration<any>[] = [
  adsSupplyRegistration,
  notificationDeliveryRegistration,
  stringGameRegistration,
  gridWorldRegistration,
  lqrRegistration,
];

/** A stateless observation-to-action rule (the shape of `envs/heuristics.ts`'s Heuristic). */
export type SimHeuristic = (obs: Float32Array) => number | Float32Array;

/**
 * Baseline controllers, built from the env's make options (they depend on its parameters):
 * - AdsSupply-v0: the myopic policy (best immediate page reward; the baseline the DP beats);
 * - NotificationDelivery-v0: fixed spacing, with the best spacing found by exact evaluation;
 * - GridWorld-v0: the shortest-path policy (value iteration ignoring any revisit penalty);
 * - LQR-v0: the Riccati controller u = −K x.
 * StringGame-v0 has none: its optimum needs memory of more than the last action.
 */
const SIM_HEURISTICS: Record<string, (options: Record<string, unknown>) => SimHeuristic> = {
  'AdsSupply-v0': (o) => adsMyopicPolicy(o),
  'NotificationDelivery-v0': (o) => notificationSpacingPolicy(bestNotificationSpacing(o).spacing, o),
  'GridWorld-v0': (o) => gridWorldValueIteration({ ...o, revisitPenalty: 0 }).policy,
  'LQR-v0': (o) => lqrRiccatiPolicy(o),
};

/**
 * The baseline controller of a simulator for the given make options, or undefined when the id
 * has none. Options `make` itself takes (`maxEpisodeSteps`, `disableOrderEnforcing`) are ignored.
 *
 * @example
 * const policy = simHeuristicFor('LQR-v0', {})!;
 * policy(Float32Array.of(1, 0)); // −K x
 */
export function simHeuristicFor(id: string, makeOptions: Record<string, unknown> = {}): SimHeuristic | undefined {
  const build = SIM_HEURISTICS[id];
  if (!build) return undefined;
  const { maxEpisodeSteps: _limit, disableOrderEnforcing: _order, ...options } = makeOptions;
  return build(options);
}

/** Ids of the simulators with a baseline controller. */
export function simHeuristicIds(): string[] {
  return Object.keys(SIM_HEURISTICS);
}
