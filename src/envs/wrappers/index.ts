/**
 * Env wrappers, each changing one thing (Gymnasium 1.x `gymnasium.wrappers`), plus the
 * `RunningMeanStd` they share with agents (PPO's observation and return normalisation).
 *
 * @example
 * import { make, RecordEpisodeStatistics, NormalizeObservation } from 'kairos/envs';
 * const env = new NormalizeObservation(new RecordEpisodeStatistics(make('CartPole-v1')));
 */
export { Wrapper, unwrap } from './wrapper.js';
export { OrderEnforcing } from './order-enforcing.js';
export { TimeLimit } from './time-limit.js';
export { RunningMeanStd, type RunningMeanStdOptions, type RunningMeanStdState } from './running-mean-std.js';
export { RecordEpisodeStatistics, type RecordEpisodeStatisticsOptions } from './record-episode-statistics.js';
export { ClipAction, requireBoxActionSpace } from './clip-action.js';
export { RescaleAction } from './rescale-action.js';
export { NormalizeObservation, requireBoxObservationSpace, type NormalizeObservationOptions } from './normalize-observation.js';
export { NormalizeReward, type NormalizeRewardOptions, type NormalizeRewardStats } from './normalize-reward.js';
export { FlattenObservation } from './flatten-observation.js';
export { FrameStack, FrameStack as FrameStackObservation, type FrameStackOptions } from './frame-stack.js';
export { TransformReward } from './transform-reward.js';
export { TransformObservation } from './transform-observation.js';
export { TransformAction } from './transform-action.js';
export { ActionMasker, actionMaskLength } from './action-masker.js';
export { EnforceActionMask, allowedActions } from './enforce-action-mask.js';
export { applyWrappers, isSerializableWrapperList, wrapperNames, type WrapperLike, type WrapperSpec } from './wrapper-spec.js';
