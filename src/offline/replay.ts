/**
 * Logged decisions into a replay buffer: the timeline (`streamTimeline` of `kairos/data`)
 * read once, each usable row stored as one transition of the existing buffers.
 *
 * A timeline row is (state, action, reward, next state, possible next actions, time gap,
 * terminal). It becomes a transition with
 *
 * - discount γ^time_diff: a log with gaps (`allowGaps`, e.g. sequence numbers in seconds)
 *   discounts by the time that passed, not by the number of rows (a semi-MDP step);
 * - `terminated` = the logged terminal flag (the target does not bootstrap);
 * - `nextMask` = the next step's possible actions, so the target's max runs over them only.
 *
 * The last row of an episode that is not terminal (a truncated log, or a time limit) has no
 * next state in the log: it cannot give a target and is left out (counted in `truncated`).
 *
 * With `standardize`, the stored states (and next states) are standardised: each feature minus
 * its mean over the logged states, over its standard deviation (Welford's pass over the
 * timeline first). A network's first layer starts with weights of order one; a feature that
 * only spans a small part of [0, 1] (AdsSupply's fatigue lives in [0, 0.25] of its scale)
 * would otherwise need many steps before its ReLU kinks even fall inside the data. The map is
 * returned, and `trainOffline` folds it into the first layer when it saves the network.
 *
 * CQL's log-sum-exp runs over the possible actions of the *current* state, which transition
 * buffers do not keep (they keep next-state masks). They are returned next to the buffer as a
 * `[capacity × K]` table indexed by storage index, which `DqnAgent.learnOffline` reads through
 * a sampled batch's `indices`.
 *
 * @example
 * const store = await LogStore.open('log.duckdb', { readOnly: true });
 * const { buffer, stateMasks } = await replayFromTimeline(store, { gamma: 0.99 });
 * agent.learnOffline(buffer, 10_000, { stateMasks });
 */
import { KairosError, ValidationError } from '../core/errors.js';
import { PrioritizedReplayBuffer } from '../agents/buffers/prioritized-replay-buffer.js';
import { ReplayBuffer } from '../agents/buffers/replay-buffer.js';
import { DECISIONS_TABLE } from '../data/schema.js';
import { streamTimeline, type LogSource } from '../data/timeline.js';

/** Options of {@link replayFromTimeline}. */
export interface ReplayFromTimelineOptions {
  /** Discount per unit of time; a transition spanning time_diff units gets γ^time_diff (default 0.99). */
  gamma?: number;
  /** A proportional prioritised buffer (Schaul et al. 2016) instead of uniform replay. */
  prioritized?: { alpha: number; epsilon: number } | null;
  /** Rows per timeline batch (default 65 536). */
  batchRows?: number;
  /**
   * Standardise the state features: each minus its mean over the logged states, divided by
   * its standard deviation (a constant feature is only centred). The buffer then holds the
   * standardised states and next states, and the result carries the map.
   */
  standardize?: boolean;
}

/** A per-feature affine map of the state features, x̃ = (x − shift) / scale. */
export interface FeatureStandardization {
  readonly shift: Float32Array;
  readonly scale: Float32Array;
}

/** What {@link replayFromTimeline} returns. */
export interface LoggedReplay {
  /** Exactly the usable transitions (capacity = logged decisions). */
  readonly buffer: ReplayBuffer;
  /** `[capacity × K]` possible actions of each stored transition's state, or null when the log has no masks. */
  readonly stateMasks: Uint8Array | null;
  /** Transitions stored. */
  readonly transitions: number;
  /** Decisions read. */
  readonly decisions: number;
  /** Episodes in the log. */
  readonly episodes: number;
  /** Last rows of non-terminal episodes, left out (no next state to bootstrap from). */
  readonly truncated: number;
  readonly featureDim: number;
  readonly numActions: number;
  /** The map applied to the stored states (`standardize`), or null. */
  readonly standardization: FeatureStandardization | null;
}

/**
 * Reads the whole timeline of `source` into a replay buffer; see the module comment.
 *
 * @example
 * const replay = await replayFromTimeline(store, { gamma: 0.95 });
 * replay.transitions; // decisions minus the last rows of truncated episodes
 */
export async function replayFromTimeline(source: LogSource, options: ReplayFromTimelineOptions = {}): Promise<LoggedReplay> {
  const schema = source.requireSchema();
  const gamma = options.gamma ?? 0.99;
  if (typeof gamma !== 'number' || !(gamma >= 0 && gamma <= 1)) throw new ValidationError('gamma', 'a discount in [0, 1]', gamma, 'replayFromTimeline');
  const d = schema.featureDim;
  const k = schema.numActions;
  if (d < 1) throw new KairosError(`${source.path}: the log has no state features (featureDim 0); offline Q-learning needs states`, 'invalid_log');
  const [counts] = await source.engine.query(
    `SELECT COUNT(*) AS n, COUNT(possible_actions) AS masked, COUNT(DISTINCT mdp_id) AS episodes FROM ${DECISIONS_TABLE}`,
  );
  const decisions = Number(counts.n);
  if (decisions === 0) throw new KairosError(`${source.path}: the log is empty`, 'empty_log');
  const withMasks = Number(counts.masked) > 0;
  const layout = { capacity: decisions, obsDim: d, action: { kind: 'discrete' as const, n: k }, storeMasks: withMasks };
  const buffer = options.prioritized
    ? new PrioritizedReplayBuffer({ ...layout, alpha: options.prioritized.alpha, epsilon: options.prioritized.epsilon })
    : new ReplayBuffer(layout);
  const stateMasks = withMasks ? new Uint8Array(decisions * k) : null;
  // γ^t for the small gaps every log has; Math.pow beyond.
  const powers = Float64Array.from({ length: 64 }, (_, t) => gamma ** t);
  const standardization = options.standardize ? await featureMoments(source, d, options.batchRows) : null;
  let truncated = 0;
  let read = 0;
  const t = {
    obs: new Float32Array(d),
    action: 0,
    reward: 0,
    nextObs: new Float32Array(d),
    terminated: false,
    discount: 1,
    nextMask: withMasks ? new Uint8Array(k) : null,
    prob: 1,
  };
  for await (const batch of streamTimeline(source, { ordered: true, ...(options.batchRows ? { batchRows: options.batchRows } : {}) })) {
    for (let i = 0; i < batch.n; i++) {
      read++;
      const terminal = batch.terminals[i] === 1;
      if (!terminal && batch.hasNext[i] === 0) {
        truncated++;
        continue;
      }
      const gap = batch.timeDiffs[i];
      if (!(gap >= 1)) {
        throw new ValidationError('time_diff', 'a gap >= 1 to the next step', gap, `${source.path}: timeline row ${read}`);
      }
      t.obs.set(batch.states.subarray(i * d, (i + 1) * d));
      t.nextObs.set(batch.nextStates.subarray(i * d, (i + 1) * d));
      if (standardization) {
        const { shift, scale } = standardization;
        for (let j = 0; j < d; j++) {
          t.obs[j] = (t.obs[j] - shift[j]) / scale[j];
          t.nextObs[j] = (t.nextObs[j] - shift[j]) / scale[j];
        }
      }
      t.action = batch.actions[i];
      t.reward = batch.rewards[i];
      t.terminated = terminal;
      t.discount = gap < powers.length ? powers[gap] : gamma ** gap;
      t.prob = batch.propensities[i];
      if (t.nextMask) t.nextMask.set(batch.possibleNextActions.subarray(i * k, (i + 1) * k));
      const row = buffer.writeIndex;
      buffer.add(t);
      if (stateMasks) stateMasks.set(batch.possibleActions.subarray(i * k, (i + 1) * k), row * k);
    }
  }
  if (read !== decisions) throw new KairosError(`${source.path}: read ${read} timeline rows, expected ${decisions} (the log changed while being read)`, 'store_changed');
  if (buffer.size === 0) {
    throw new KairosError(`${source.path}: no usable transition (every episode is a single truncated step)`, 'empty_log');
  }
  return {
    buffer,
    stateMasks,
    transitions: buffer.size,
    decisions,
    episodes: Number(counts.episodes),
    truncated,
    featureDim: d,
    numActions: k,
    standardization,
  };
}

/**
 * Mean and standard deviation of each state feature over the logged decisions (Welford's
 * update in float64); a feature whose deviation is below 1e-6 keeps scale 1.
 *
 * @example
 * const { shift, scale } = await featureMoments(store, 5, undefined);
 */
async function featureMoments(source: LogSource, d: number, batchRows: number | undefined): Promise<FeatureStandardization> {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let n = 0;
  for await (const batch of streamTimeline(source, { ordered: true, ...(batchRows ? { batchRows } : {}) })) {
    for (let i = 0; i < batch.n; i++) {
      n++;
      for (let j = 0; j < d; j++) {
        const x = batch.states[i * d + j];
        const delta = x - mean[j];
        mean[j] += delta / n;
        m2[j] += delta * (x - mean[j]);
      }
    }
  }
  const scale = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const sd = n > 0 ? Math.sqrt(m2[j] / n) : 0;
    scale[j] = sd > 1e-6 ? sd : 1;
  }
  return { shift: Float32Array.from(mean), scale };
}
