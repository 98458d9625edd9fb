/**
 * A trained agent as the target policy of off-policy evaluation: π(a | logged row) from the
 * agent's own action probabilities (its greedy policy, its exploring one) or from a softmax
 * of its Q-values with a chosen temperature, computed for a whole batch of logged rows with
 * one forward pass.
 *
 * The logged state features are the agent's flattened observation; the row's possible-action
 * mask restricts the policy as it would when acting.
 *
 * @example
 * const agent = await loadRunAgent('runs/cartpole');
 * const policy = agentTargetPolicy(agent, { mode: 'softmax', temperature: 0.5 });
 * const report = await evaluateLog(store, policy, { estimators: ['dr', 'magic'] });
 */
import { KairosError, ValidationError } from '../core/errors.js';
import { Discrete } from '../core/spaces.js';
import type { PolicyBatch, TargetPolicy } from '../data/target-policy.js';
import type { Agent } from './agent.js';
import { epsilonGreedyProbabilities, softmaxProbabilities } from './dqn/exploration.js';

/** How the agent's probabilities are formed. */
export interface AgentTargetPolicyOptions {
  /**
   * `greedy` (default): the deterministic policy the agent would serve;
   * `exploring`: the policy `act` uses while training (ε-greedy at the run's final ε, ...);
   * `softmax`: softmax of Q-values at `temperature` (value-based agents);
   * `epsilon-greedy`: greedy with probability 1 − `epsilon`.
   */
  mode?: 'greedy' | 'exploring' | 'softmax' | 'epsilon-greedy';
  temperature?: number;
  epsilon?: number;
  /** Name in reports (default `<algorithm>:<mode>`). */
  name?: string;
}

/** Wraps a discrete-action agent as an OPE target policy; see the module comment. */
export function agentTargetPolicy(agent: Agent, options: AgentTargetPolicyOptions = {}): TargetPolicy {
  if (!(agent.actionSpace instanceof Discrete)) {
    throw new KairosError(`agentTargetPolicy: ${agent.algorithm} acts in ${agent.actionSpace.toString()}; off-policy evaluation of logged decisions needs discrete actions`, 'unsupported_space');
  }
  const mode = options.mode ?? 'greedy';
  const K = agent.actionSpace.n;
  if (mode === 'softmax' && !(typeof options.temperature === 'number' && options.temperature > 0)) {
    throw new ValidationError('temperature', 'a positive number (softmax target policy)', options.temperature, 'agentTargetPolicy');
  }
  if (mode === 'epsilon-greedy' && !(typeof options.epsilon === 'number' && options.epsilon >= 0 && options.epsilon <= 1)) {
    throw new ValidationError('epsilon', 'a number in [0, 1] (epsilon-greedy target policy)', options.epsilon, 'agentTargetPolicy');
  }
  if ((mode === 'softmax' || mode === 'epsilon-greedy') && !agent.qValues) {
    throw new KairosError(`agentTargetPolicy: mode "${mode}" needs Q-values, which ${agent.algorithm} does not have`, 'unsupported_agent');
  }
  if ((mode === 'greedy' || mode === 'exploring') && !agent.actionProbabilities) {
    throw new KairosError(`agentTargetPolicy: ${agent.algorithm} does not expose action probabilities`, 'unsupported_agent');
  }
  return {
    name: options.name ?? `${agent.algorithm}:${mode}${mode === 'softmax' ? `(T=${options.temperature})` : mode === 'epsilon-greedy' ? `(ε=${options.epsilon})` : ''}`,
    numActions: K,
    probabilities(batch: PolicyBatch, out: Float64Array) {
      if (batch.featureDim !== agent.obsDim) {
        throw new ValidationError('state features', `${agent.obsDim} per row (the agent's observation size)`, batch.featureDim, 'agentTargetPolicy');
      }
      if (batch.numActions !== K) throw new ValidationError('numActions', `${K} (the agent's action count)`, batch.numActions, 'agentTargetPolicy');
      const { n, features, masks } = batch;
      let p: Float64Array;
      if (mode === 'softmax') p = softmaxProbabilities((agent.qValues as NonNullable<Agent['qValues']>)(features, n), n, K, masks, options.temperature as number);
      else if (mode === 'epsilon-greedy') p = epsilonGreedyProbabilities((agent.qValues as NonNullable<Agent['qValues']>)(features, n), n, K, masks, options.epsilon as number);
      else p = (agent.actionProbabilities as NonNullable<Agent['actionProbabilities']>)(features, n, { deterministic: mode === 'greedy', masks });
      out.set(p.subarray(0, n * K));
    },
  };
}

/**
 * The deterministic actions a continuous-action agent (DDPG, TD3, SAC's mean) would serve on
 * logged contexts, as the `targetActions` of a kernelized OPE dataset (`kairos/ope`,
 * `continuousDataset`): n × actDim in float64, one forward pass per batch.
 *
 * @example
 * const targetActions = agentTargetActions(await loadRunAgent('runs/td3'), features, n);
 * kernelizedDr({ bandwidth: 0.2 }).estimate(continuousDataset({ ...logged, targetActions }), model);
 */
export function agentTargetActions(agent: Agent, features: Float32Array, n: number, batchSize = 4096): Float64Array {
  if (agent.actionSpace instanceof Discrete) {
    throw new KairosError(`agentTargetActions: ${agent.algorithm} acts in ${agent.actionSpace.toString()}; use agentTargetPolicy for discrete actions`, 'unsupported_space');
  }
  if (features.length !== n * agent.obsDim) {
    throw new ValidationError('features.length', `n × ${agent.obsDim} = ${n * agent.obsDim} (the agent's observation size)`, features.length, 'agentTargetActions');
  }
  let out: Float64Array | null = null;
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const { actions } = agent.act(features.subarray(start * agent.obsDim, (start + m) * agent.obsDim), m, { deterministic: true });
    const d = actions.length / m;
    out ??= new Float64Array(n * d);
    out.set(actions, start * d);
  }
  return out ?? new Float64Array(0);
}
