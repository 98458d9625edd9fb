/**
 * From a stored log to the inputs of the estimators in `kairos/ope`: bandit data (one row per
 * decision) and episodic data (decisions grouped by mdp_id, in sequence order).
 *
 * The decisions are streamed in (mdp_id, sequence_number) order, chunk by chunk, into arrays
 * sized once from a COUNT; a target policy is evaluated batch by batch as the rows go past, so
 * the only per-row JS objects ever alive are one batch's episode ids.
 *
 * Bandit view: every decision is one row, whatever its episode (a log of one-step episodes is
 * the usual case). Episodic view: an episode is its rows in sequence order; an episode whose
 * last row is not terminal (a truncated log) is still evaluated as if it ended there, which
 * is what the sequential estimators assume (an absorbing state with reward 0).
 *
 * @example
 * const store = await LogStore.open('log.duckdb', { readOnly: true });
 * const data = await readBanditData(store, loadPolicyTable('target.json'));
 * doublyRobust().estimate(data, fitRewardModel(data, { folds: 2 }));
 * const episodes = await readEpisodicData(store, policy, { gamma: 0.99 });
 */
import { KairosError, ValidationError } from '../core/errors.js';
import {
  validateBanditLog,
  validateEpisodicLog,
  type BanditDataset,
  type BanditLog,
  type EpisodicDataset,
  type EpisodicLog,
} from '../ope/types.js';
import { DECISIONS_TABLE } from './schema.js';
import type { PolicyBatch, TargetPolicy } from './target-policy.js';
import { decisionScanSql } from './timeline-sql.js';
import type { LogSource } from './timeline.js';

/** Options of the readers. */
export interface ReadOptions {
  /** Rows per target-policy call (default 8192). */
  batchRows?: number;
  /** Tolerance on each probability row summing to 1 (default 1e-6). */
  tolerance?: number;
}

/** Options of the episodic readers. */
export interface EpisodicReadOptions extends ReadOptions {
  /** Discount factor γ in [0, 1] (default 1: the undiscounted return of each episode). */
  gamma?: number;
}

interface Scanned {
  n: number;
  numActions: number;
  featureDim: number;
  actions: Int32Array;
  rewards: Float64Array;
  propensities: Float64Array;
  features: Float32Array;
  actionMask?: Uint8Array;
  episodeStarts: Int32Array;
  numEpisodes: number;
  targetProbs?: Float64Array;
}

function checkTargetRows(probs: Float64Array, batch: PolicyBatch, policy: TargetPolicy, tolerance: number): void {
  const k = batch.numActions;
  for (let i = 0; i < batch.n; i++) {
    let sum = 0;
    for (let a = 0; a < k; a++) {
      const p = probs[i * k + a];
      const where = `mdp_id ${JSON.stringify(batch.mdpIds[i])}, sequence_number ${batch.sequenceNumbers[i]}`;
      if (!(p >= 0 && p <= 1)) throw new ValidationError(`π(${a})`, 'a probability in [0, 1]', p, `target policy ${policy.name} at ${where}`);
      if (batch.masks && !batch.masks[i * k + a] && p > 0) {
        throw new ValidationError(`π(${a})`, `0 (action ${a} is not possible at this step)`, p, `target policy ${policy.name} at ${where}`);
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > tolerance) {
      throw new ValidationError(
        'π',
        `probabilities summing to 1 ± ${tolerance} (sum ${sum})`,
        probs.subarray(i * k, (i + 1) * k),
        `target policy ${policy.name} at mdp_id ${JSON.stringify(batch.mdpIds[i])}, sequence_number ${batch.sequenceNumbers[i]}`,
      );
    }
  }
}

async function scan(source: LogSource, policy: TargetPolicy | null, options: ReadOptions): Promise<Scanned> {
  const schema = source.requireSchema();
  const k = schema.numActions;
  const d = schema.featureDim;
  if (policy && policy.numActions !== k) {
    throw new KairosError(`target policy ${policy.name} has ${policy.numActions} actions, the log ${source.path} has ${k}`, 'policy_mismatch');
  }
  const batchRows = options.batchRows ?? 8192;
  const tolerance = options.tolerance ?? 1e-6;
  const [counts] = await source.engine.query(
    `SELECT COUNT(*) AS n, COUNT(possible_actions) AS masked, COUNT(DISTINCT mdp_id) AS episodes FROM ${DECISIONS_TABLE}`,
  );
  const n = Number(counts.n);
  if (n === 0) throw new KairosError(`${source.path}: the log is empty`, 'empty_log');
  const withMask = Number(counts.masked) > 0;
  const numEpisodes = Number(counts.episodes);
  const out: Scanned = {
    n,
    numActions: k,
    featureDim: d,
    actions: new Int32Array(n),
    rewards: new Float64Array(n),
    propensities: new Float64Array(n),
    features: new Float32Array(n * d),
    ...(withMask ? { actionMask: new Uint8Array(n * k) } : {}),
    episodeStarts: new Int32Array(numEpisodes + 1),
    numEpisodes,
    ...(policy ? { targetProbs: new Float64Array(n * k) } : {}),
  };
  const ids: string[] = [];
  const seqs = new Int32Array(batchRows);
  let batchStart = 0;
  const flushBatch = async (end: number) => {
    if (!policy || end === batchStart) return;
    const m = end - batchStart;
    const batch: PolicyBatch = {
      n: m,
      featureDim: d,
      numActions: k,
      mdpIds: ids,
      sequenceNumbers: seqs.subarray(0, m),
      features: out.features.subarray(batchStart * d, end * d),
      masks: out.actionMask ? out.actionMask.subarray(batchStart * k, end * k) : null,
    };
    const probs = out.targetProbs!.subarray(batchStart * k, end * k);
    await policy.probabilities(batch, probs);
    checkTargetRows(probs, batch, policy, tolerance);
    ids.length = 0;
    batchStart = end;
  };
  let i = 0;
  let episode = -1;
  let lastId: string | null = null;
  for await (const chunk of source.engine.stream(decisionScanSql())) {
    const mdp = chunk.column('mdp_id');
    const seq = chunk.column('sequence_number');
    const state = chunk.column('state_features');
    const action = chunk.column('action');
    const prop = chunk.column('action_probability');
    const mask = chunk.column('possible_actions');
    const reward = chunk.column('reward');
    for (let r = 0; r < chunk.rowCount; r++) {
      if (i >= n) throw new KairosError(`${source.path}: the log changed while being read`, 'store_changed');
      const id = mdp.string(r) ?? '';
      if (id !== lastId) {
        episode++;
        if (episode >= numEpisodes) throw new KairosError(`${source.path}: more episodes than counted (the log changed while being read)`, 'store_changed');
        out.episodeStarts[episode] = i;
        lastId = id;
      }
      state.readList(r, out.features, i * d, d);
      out.actions[i] = action.number(r);
      out.propensities[i] = prop.number(r);
      out.rewards[i] = reward.number(r);
      if (out.actionMask) {
        if (mask.isNull(r)) out.actionMask.fill(1, i * k, (i + 1) * k);
        else mask.readList(r, out.actionMask, i * k, k);
      }
      if (policy) {
        ids.push(id);
        seqs[i - batchStart] = seq.number(r);
      }
      i++;
      if (policy && i - batchStart === batchRows) await flushBatch(i);
    }
  }
  if (i !== n) throw new KairosError(`${source.path}: read ${i} rows, expected ${n} (the log changed while being read)`, 'store_changed');
  await flushBatch(i);
  out.episodeStarts[numEpisodes] = n;
  return out;
}

function banditOf(s: Scanned): BanditLog {
  return {
    n: s.n,
    numActions: s.numActions,
    actions: s.actions,
    rewards: s.rewards,
    propensities: s.propensities,
    ...(s.actionMask ? { actionMask: s.actionMask } : {}),
    ...(s.featureDim > 0 ? { features: s.features, featureDim: s.featureDim } : {}),
  };
}

function episodicOf(s: Scanned, gamma: number): EpisodicLog {
  return {
    numEpisodes: s.numEpisodes,
    numSteps: s.n,
    numActions: s.numActions,
    episodeStarts: s.episodeStarts,
    actions: s.actions,
    rewards: s.rewards,
    propensities: s.propensities,
    ...(s.actionMask ? { actionMask: s.actionMask } : {}),
    ...(s.featureDim > 0 ? { features: s.features, featureDim: s.featureDim } : {}),
    gamma,
  };
}

/** The log as bandit data without a target policy (for reward models, logging statistics). */
export async function readBanditLog(source: LogSource, options: ReadOptions = {}): Promise<BanditLog> {
  return validateBanditLog(banditOf(await scan(source, null, options)));
}

/** The log as episodes without a target policy. */
export async function readEpisodicLog(source: LogSource, options: EpisodicReadOptions = {}): Promise<EpisodicLog> {
  return validateEpisodicLog(episodicOf(await scan(source, null, options), options.gamma ?? 1));
}

/**
 * The log as a `BanditDataset`: every decision one row, with π(·|row) from `policy`.
 *
 * @example
 * const data = await readBanditData(store, uniformTargetPolicy(3));
 * ips().estimate(data).value;
 */
export async function readBanditData(source: LogSource, policy: TargetPolicy, options: ReadOptions = {}): Promise<BanditDataset> {
  const s = await scan(source, policy, options);
  const log = validateBanditLog(banditOf(s));
  return { ...log, targetProbs: s.targetProbs! };
}

/**
 * The log as an `EpisodicDataset`: episodes by mdp_id in sequence order, with π at every step.
 *
 * @example
 * const episodes = await readEpisodicData(store, policy, { gamma: 0.9 });
 * weightedDr().estimate(episodes, fitFqe(episodes, { kind: 'linear', folds: 2 }));
 */
export async function readEpisodicData(source: LogSource, policy: TargetPolicy, options: EpisodicReadOptions = {}): Promise<EpisodicDataset> {
  const s = await scan(source, policy, options);
  const log = validateEpisodicLog(episodicOf(s, options.gamma ?? 1));
  return { ...log, targetProbs: s.targetProbs! };
}
