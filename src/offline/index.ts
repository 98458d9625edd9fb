/**
 * `kairos/offline`: policies trained from logged decisions with no environment access:
 * the timeline into a replay buffer, offline DQN, and discrete CQL(H). The result is an
 * ordinary run folder that `kairos eval` and `kairos ope` read. See docs/offline.md.
 *
 * @example
 * import { simulateLog } from 'kairos/data';
 * import { trainOffline } from 'kairos/offline';
 * await simulateLog({ env: 'AdsSupply-v0', out: 'ads.duckdb', episodes: 3000, policy: { kind: 'heuristic', epsilon: 0.5 } });
 * const { summary } = await trainOffline({ algorithm: 'cql', data: 'ads.duckdb', runDir: 'runs/ads-cql' });
 */
export * from './replay.js';
export * from './offline-dqn.js';
export * from './cql.js';
