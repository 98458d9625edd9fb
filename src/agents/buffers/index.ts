/**
 * Replay buffers shared by the off-policy agents: uniform and prioritised transition replay,
 * the n-step writer that feeds either, and episode replay for recurrent Q-networks.
 *
 * @example
 * import { ReplayBuffer, NStepWriter } from './buffers/index.js';
 * const buffer = new ReplayBuffer({ capacity: 100_000, obsDim: 8, action: { kind: 'discrete', n: 4 } });
 * const writer = new NStepWriter(buffer, { n: 3, gamma: 0.99, numEnvs: 8 });
 */
export * from './types.js';
export { ReplayBuffer, ReplayBufferOptionsSchema, type ReplayBufferOptions } from './replay-buffer.js';
export { SumTree } from './sum-tree.js';
export { PrioritizedReplayBuffer, PrioritizedReplayBufferOptionsSchema, type PrioritizedReplayBufferOptions } from './prioritized-replay-buffer.js';
export { NStepWriter, NStepWriterOptionsSchema, type NStepWriterOptions } from './n-step.js';
export {
  EpisodicBuffer,
  EpisodicBufferOptionsSchema,
  type EpisodicBufferOptions,
  type SampleSequencesOptions,
  type SequenceBatch,
} from './episodic-buffer.js';
