/**
 * Discrete CQL(H): conservative Q-learning for offline RL (Kumar, Zhou, Tucker & Levine 2020,
 * "Conservative Q-Learning for Offline Reinforcement Learning", NeurIPS), eq. 4 with the
 * entropy regulariser R(μ) = H(μ), which turns the inner max over action distributions into a
 * log-sum-exp. For discrete actions the loss of a batch of logged (s, a, r, s') is
 *
 *   L(θ) = α · E_s [ log Σ_{a' ∈ possible(s)} exp Q_θ(s, a') − Q_θ(s, a_logged) ] + L_TD(θ)
 *
 * where L_TD is DQN's (Huber) TD loss against the target network. The first term pushes Q down
 * on every possible action (most on the largest) and up on the logged one: it lower-bounds the
 * policy's value where the data says nothing, instead of trusting the max over actions the log
 * never took. The log-sum-exp runs over the actions *possible* in s (the log's mask), so an
 * action that could not be taken is neither penalised nor preferred.
 *
 * The penalty is {@link conservativePenalty} (a pure tensor function next to the DQN agent that
 * adds it when `cqlAlpha` > 0); training is {@link trainOffline} with algorithm `cql`.
 *
 * @example
 * const { summary } = await trainCql({ data: 'ads.duckdb', runDir: 'runs/ads-cql', config: { cqlAlpha: 0.5 } });
 */
import { trainOffline, type OfflineRunResult, type TrainOfflineOptions } from './offline-dqn.js';

export { conservativePenalty } from '../agents/dqn/dqn.js';

/**
 * {@link trainOffline} with algorithm `cql` (α from `config.cqlAlpha`, default 1).
 *
 * @example
 * await trainCql({ data: 'grid.duckdb', runDir: 'runs/grid-cql', updates: 5000 });
 */
export function trainCql(options: Omit<TrainOfflineOptions, 'algorithm'>): Promise<OfflineRunResult> {
  return trainOffline({ ...options, algorithm: 'cql' });
}
