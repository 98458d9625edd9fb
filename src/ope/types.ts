/**
 * Data shapes for off-policy evaluation (OPE), in flat typed arrays.
 *
 * A logged bandit dataset is one row per decision; an episodic dataset is the same per step,
 * with `episodeStarts` cutting the flat arrays into episodes (CSR-style offsets). Everything
 * is column-oriented and preallocated: 10 million rows are a handful of typed arrays, not 10
 * million objects, so estimators and the bootstrap run as tight loops.
 *
 * Probabilities for every action are stored row-major: `targetProbs[i * K + a]` is π(a | x_i).
 *
 * @example
 * const data = banditDataset(
 *   { n: 2, numActions: 2, actions: Int32Array.of(0, 1), rewards: Float64Array.of(1, 0),
 *     propensities: Float64Array.of(0.5, 0.5) },
 *   Float64Array.of(0.9, 0.1, 0.9, 0.1),          // π(a|x_i) for every row and action
 * );
 */
import { ValidationError } from '../core/errors.js';

/** Default tolerance on |Σ_a π(a|x) − 1| for probability rows. */
export const PROB_SUM_TOLERANCE = 1e-6;

/** Logged bandit decisions without a target policy attached. */
export interface BanditLog {
  /** Number of logged decisions (rows). */
  readonly n: number;
  /** Number of actions K; actions are 0..K−1. */
  readonly numActions: number;
  /** Logged action per row (length n). */
  readonly actions: Int32Array;
  /** Observed reward per row (length n). */
  readonly rewards: Float64Array;
  /** Behaviour probability μ(a_i | x_i) of the logged action (length n), in (0, 1]. */
  readonly propensities: Float64Array;
  /** Possible actions, n × K (1 = allowed). Absent: every action is allowed. */
  readonly actionMask?: Uint8Array;
  /** Context features, n × d row-major (d = `featureDim`). */
  readonly features?: Float32Array;
  /** Feature dimension d (required with `features`). */
  readonly featureDim?: number;
}

/** A bandit log with the target policy's probabilities for every row and action. */
export interface BanditDataset extends BanditLog {
  /** π(a | x_i), n × K row-major; each row sums to 1 and is 0 on masked actions. */
  readonly targetProbs: Float64Array;
}

/** Logged episodes (per step) without a target policy attached. */
export interface EpisodicLog {
  /** Number of episodes. */
  readonly numEpisodes: number;
  /** Total number of steps over all episodes. */
  readonly numSteps: number;
  readonly numActions: number;
  /**
   * Episode offsets, length numEpisodes + 1: episode e is steps
   * `episodeStarts[e] .. episodeStarts[e + 1] − 1`; `episodeStarts[numEpisodes] = numSteps`.
   * Every episode has at least one step and ends in termination: after its last step the
   * episode sits in an absorbing state with reward 0.
   */
  readonly episodeStarts: Int32Array;
  /** Per step (length numSteps). */
  readonly actions: Int32Array;
  readonly rewards: Float64Array;
  /** μ(a_t | s_t) of the logged action, in (0, 1]. */
  readonly propensities: Float64Array;
  readonly actionMask?: Uint8Array;
  /** State features, numSteps × d. */
  readonly features?: Float32Array;
  readonly featureDim?: number;
  /** Discount factor γ in [0, 1]. */
  readonly gamma: number;
}

/** Episodes with the target policy's probabilities at every step. */
export interface EpisodicDataset extends EpisodicLog {
  /** π(a | s_t), numSteps × K row-major. */
  readonly targetProbs: Float64Array;
}

/**
 * A target policy as a function of one row's features (a view of length d) and its action
 * mask (a view of length K, or undefined). Returns K probabilities; it may write into `out`.
 */
export type PolicyFunction = (
  features: Float32Array,
  mask: Uint8Array | undefined,
  out: Float64Array,
) => ArrayLike<number>;

/** A target policy: a probability table (rows × K, row-major) or a function of features. */
export type TargetPolicy = Float64Array | PolicyFunction;

/** Q-values for every row and action, for {@link softmaxPolicyFromQ}. */
export interface QTable {
  /** rows × K row-major. */
  readonly values: Float64Array;
  readonly numActions: number;
}

/** A Q-function of one row's features; returns K values. */
export type QFunction = (features: Float32Array) => ArrayLike<number>;

/** Options for the validators. */
export interface ValidateOptions {
  /** Tolerance on probability rows summing to 1 (default 1e-6). */
  readonly tolerance?: number;
}

// ---------------------------------------------------------------------------------------------
// Policies

/**
 * Softmax over one row of Q-values with temperature τ, restricted to allowed actions:
 * π(a) ∝ exp(Q(a) / τ) for allowed a, 0 for masked a. τ = 0 is the greedy policy, with ties
 * split evenly (the limit of the softmax as τ → 0). Reads K = `k` values from `q` at `qOffset`
 * (and the mask at `maskOffset`), writes K probabilities into `out` at `outOffset`, returns `out`.
 */
export function softmaxRow(
  q: ArrayLike<number>,
  temperature: number,
  mask: ArrayLike<number> | undefined,
  out: Float64Array,
  k = out.length,
  qOffset = 0,
  maskOffset = 0,
  outOffset = 0,
): Float64Array {
  let max = -Infinity;
  let allowed = 0;
  for (let a = 0; a < k; a++) {
    if (mask && !mask[maskOffset + a]) continue;
    allowed++;
    if (q[qOffset + a] > max) max = q[qOffset + a];
  }
  if (allowed === 0) throw new ValidationError('mask', 'at least one allowed action', 'all actions masked', 'softmaxPolicyFromQ');
  if (temperature === 0) {
    let ties = 0;
    for (let a = 0; a < k; a++) if ((!mask || mask[maskOffset + a]) && q[qOffset + a] === max) ties++;
    for (let a = 0; a < k; a++) {
      out[outOffset + a] = (!mask || mask[maskOffset + a]) && q[qOffset + a] === max ? 1 / ties : 0;
    }
    return out;
  }
  // Subtract the max before exponentiating so large Q-values do not overflow.
  let sum = 0;
  for (let a = 0; a < k; a++) {
    const e = mask && !mask[maskOffset + a] ? 0 : Math.exp((q[qOffset + a] - max) / temperature);
    out[outOffset + a] = e;
    sum += e;
  }
  for (let a = 0; a < k; a++) out[outOffset + a] /= sum;
  return out;
}

/**
 * The softmax-with-temperature policy of a value-based agent: π(a|x) ∝ exp(Q(x,a)/τ) over the
 * allowed actions; τ = 0 is greedy (ties split evenly).
 *
 * Given a Q table (rows × K) it returns the probability table; given a Q-function it returns
 * a {@link PolicyFunction} that applies the mask it is called with.
 *
 * @example
 * const probs = softmaxPolicyFromQ({ values: qHat, numActions: 4 }, 0.1, data.actionMask);
 * const policy = softmaxPolicyFromQ((x) => agent.qValues(x), 0.5); // function form
 */
export function softmaxPolicyFromQ(q: QTable, temperature: number, mask?: Uint8Array): Float64Array;
export function softmaxPolicyFromQ(q: QFunction, temperature: number): PolicyFunction;
export function softmaxPolicyFromQ(
  q: QTable | QFunction,
  temperature: number,
  mask?: Uint8Array,
): Float64Array | PolicyFunction {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new ValidationError('temperature', 'a finite number >= 0', temperature, 'softmaxPolicyFromQ');
  }
  if (typeof q === 'function') {
    return (features, rowMask, out) => softmaxRow(q(features), temperature, rowMask, out);
  }
  const k = q.numActions;
  if (!Number.isInteger(k) || k < 1 || q.values.length % k !== 0) {
    throw new ValidationError('q.values', `a multiple of numActions = ${k} values`, q.values.length, 'softmaxPolicyFromQ');
  }
  const rows = q.values.length / k;
  if (mask && mask.length !== q.values.length) {
    throw new ValidationError('mask', `length ${q.values.length} (rows × K)`, mask.length, 'softmaxPolicyFromQ');
  }
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) softmaxRow(q.values, temperature, mask, out, k, i * k, i * k, i * k);
  return out;
}

/**
 * Evaluates a target policy on every row: returns π(a|x_i) as rows × K. A table is checked
 * for its length and returned as is; a function is called once per row with views of the
 * row's features and mask.
 */
export function targetProbabilities(
  policy: TargetPolicy,
  rows: number,
  numActions: number,
  features?: Float32Array,
  featureDim?: number,
  actionMask?: Uint8Array,
): Float64Array {
  if (policy instanceof Float64Array) {
    if (policy.length !== rows * numActions) {
      throw new ValidationError('targetProbs', `length ${rows * numActions} (rows × K)`, policy.length, 'target policy');
    }
    return policy;
  }
  if (typeof policy !== 'function') {
    throw new ValidationError('target', 'a Float64Array probability table or a policy function', policy, 'target policy');
  }
  const d = featureDim ?? 0;
  const out = new Float64Array(rows * numActions);
  const scratch = new Float64Array(numActions);
  const empty = new Float32Array(0);
  for (let i = 0; i < rows; i++) {
    const x = features ? features.subarray(i * d, (i + 1) * d) : empty;
    const m = actionMask ? actionMask.subarray(i * numActions, (i + 1) * numActions) : undefined;
    scratch.fill(0);
    const p = policy(x, m, scratch);
    if (p.length !== numActions) {
      throw new ValidationError(`target(${i})`, `${numActions} probabilities`, p.length, 'target policy');
    }
    for (let a = 0; a < numActions; a++) out[i * numActions + a] = p[a];
  }
  return out;
}

/**
 * Attaches a target policy to a bandit log and validates the result.
 *
 * @example
 * const data = banditDataset(log, softmaxPolicyFromQ({ values: q, numActions: K }, 0.2));
 */
export function banditDataset(log: BanditLog, target: TargetPolicy, options: ValidateOptions = {}): BanditDataset {
  validateBanditLog(log);
  const targetProbs = targetProbabilities(target, log.n, log.numActions, log.features, log.featureDim, log.actionMask);
  return validateBanditDataset({ ...log, targetProbs }, options);
}

/** Attaches a target policy to an episodic log (π evaluated per step) and validates it. */
export function episodicDataset(log: EpisodicLog, target: TargetPolicy, options: ValidateOptions = {}): EpisodicDataset {
  validateEpisodicLog(log);
  const targetProbs = targetProbabilities(target, log.numSteps, log.numActions, log.features, log.featureDim, log.actionMask);
  return validateEpisodicDataset({ ...log, targetProbs }, options);
}

// ---------------------------------------------------------------------------------------------
// Validation

const BANDIT = 'bandit dataset';
const EPISODIC = 'episodic dataset';

function checkCount(value: unknown, path: string, context: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ValidationError(path, `an integer >= ${min}`, value, context);
  }
  return value;
}

function checkArray(
  value: unknown,
  type: { new (n: number): ArrayLike<number>; name: string },
  path: string,
  length: number,
  context: string,
  lengthNote: string,
): void {
  if (!(value instanceof type)) throw new ValidationError(path, `a ${type.name}`, value, context);
  if ((value as ArrayLike<number>).length !== length) {
    throw new ValidationError(`${path}.length`, `${length} (${lengthNote})`, (value as ArrayLike<number>).length, context);
  }
}

/** Shared per-row checks of a bandit log or an episodic log (rows = decisions or steps). */
function validateRows(
  data: BanditLog | EpisodicLog,
  rows: number,
  context: string,
  rowsName: string,
): void {
  const k = checkCount(data.numActions, 'numActions', context, 1);
  checkArray(data.actions, Int32Array, 'actions', rows, context, rowsName);
  checkArray(data.rewards, Float64Array, 'rewards', rows, context, rowsName);
  checkArray(data.propensities, Float64Array, 'propensities', rows, context, rowsName);
  const mask = data.actionMask;
  if (mask !== undefined) checkArray(mask, Uint8Array, 'actionMask', rows * k, context, `${rowsName} × K`);
  if (data.features !== undefined) {
    const d = checkCount(data.featureDim, 'featureDim', context, 1);
    checkArray(data.features, Float32Array, 'features', rows * d, context, `${rowsName} × featureDim`);
    const f = data.features;
    for (let j = 0; j < f.length; j++) {
      if (!Number.isFinite(f[j])) {
        throw new ValidationError(`features[${Math.floor(j / d)}][${j % d}]`, 'a finite number', f[j], context);
      }
    }
  } else if (data.featureDim !== undefined) {
    checkCount(data.featureDim, 'featureDim', context, 0);
  }
  const { actions, rewards, propensities } = data;
  for (let i = 0; i < rows; i++) {
    const a = actions[i];
    if (a < 0 || a >= k) throw new ValidationError(`actions[${i}]`, `an action in [0, ${k})`, a, context);
    if (mask && !mask[i * k + a]) {
      throw new ValidationError(`actions[${i}]`, `an allowed action (actionMask[${i}][${a}] is 0)`, a, context);
    }
    if (!Number.isFinite(rewards[i])) throw new ValidationError(`rewards[${i}]`, 'a finite number', rewards[i], context);
    const p = propensities[i];
    // NaN fails both comparisons' negation, so it lands here too.
    if (!(p > 0 && p <= 1)) throw new ValidationError(`propensities[${i}]`, 'a probability in (0, 1]', p, context);
  }
}

function validateProbRows(
  probs: unknown,
  rows: number,
  k: number,
  mask: Uint8Array | undefined,
  context: string,
  rowsName: string,
  tolerance: number,
): void {
  checkArray(probs, Float64Array, 'targetProbs', rows * k, context, `${rowsName} × K`);
  const p = probs as Float64Array;
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let a = 0; a < k; a++) {
      const v = p[i * k + a];
      if (!(v >= 0 && v <= 1)) {
        throw new ValidationError(`targetProbs[${i}][${a}]`, 'a probability in [0, 1]', v, context);
      }
      if (mask && !mask[i * k + a] && v > 0) {
        throw new ValidationError(`targetProbs[${i}][${a}]`, 'probability 0 on a masked-out action', v, context);
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > tolerance) {
      throw new ValidationError(
        `targetProbs[${i}]`,
        `a row of ${k} probabilities summing to 1 ± ${tolerance} (sum ${sum})`,
        p.subarray(i * k, (i + 1) * k),
        context,
      );
    }
  }
}

/** Checks a bandit log (everything but the target policy); throws a {@link ValidationError}. */
export function validateBanditLog<T extends BanditLog>(log: T): T {
  if (log === null || typeof log !== 'object') throw new ValidationError('', 'a bandit log object', log, BANDIT);
  const n = checkCount(log.n, 'n', BANDIT, 0);
  validateRows(log, n, BANDIT, 'n');
  return log;
}

/**
 * Checks a bandit dataset and returns it. Errors name the field, the row, the value and the
 * expectation, e.g. `bandit dataset: propensities[3]: expected a probability in (0, 1], received 0`.
 */
export function validateBanditDataset<T extends BanditDataset>(data: T, options: ValidateOptions = {}): T {
  validateBanditLog(data);
  validateProbRows(data.targetProbs, data.n, data.numActions, data.actionMask, BANDIT, 'n', options.tolerance ?? PROB_SUM_TOLERANCE);
  return data;
}

/** Checks an episodic log (offsets, per-step fields, γ). */
export function validateEpisodicLog<T extends EpisodicLog>(log: T): T {
  if (log === null || typeof log !== 'object') throw new ValidationError('', 'an episodic log object', log, EPISODIC);
  const numEpisodes = checkCount(log.numEpisodes, 'numEpisodes', EPISODIC, 0);
  const numSteps = checkCount(log.numSteps, 'numSteps', EPISODIC, 0);
  checkArray(log.episodeStarts, Int32Array, 'episodeStarts', numEpisodes + 1, EPISODIC, 'numEpisodes + 1');
  const starts = log.episodeStarts;
  if (starts[0] !== 0) throw new ValidationError('episodeStarts[0]', '0', starts[0], EPISODIC);
  for (let e = 0; e < numEpisodes; e++) {
    if (!(starts[e + 1] > starts[e])) {
      throw new ValidationError(
        `episodeStarts[${e + 1}]`,
        `> episodeStarts[${e}] = ${starts[e]} (every episode has at least one step)`,
        starts[e + 1],
        EPISODIC,
      );
    }
  }
  if (starts[numEpisodes] !== numSteps) {
    throw new ValidationError(`episodeStarts[${numEpisodes}]`, `numSteps = ${numSteps}`, starts[numEpisodes], EPISODIC);
  }
  if (typeof log.gamma !== 'number' || !(log.gamma >= 0 && log.gamma <= 1)) {
    throw new ValidationError('gamma', 'a discount in [0, 1]', log.gamma, EPISODIC);
  }
  validateRows(log, numSteps, EPISODIC, 'numSteps');
  return log;
}

/** Checks an episodic dataset and returns it. */
export function validateEpisodicDataset<T extends EpisodicDataset>(data: T, options: ValidateOptions = {}): T {
  validateEpisodicLog(data);
  validateProbRows(
    data.targetProbs,
    data.numSteps,
    data.numActions,
    data.actionMask,
    EPISODIC,
    'numSteps',
    options.tolerance ?? PROB_SUM_TOLERANCE,
  );
  return data;
}

/** Checks that a model's n × K prediction table fits the data. */
export function checkQTable(qHat: unknown, rows: number, k: number, context: string, field = 'qHat'): Float64Array {
  if (!(qHat instanceof Float64Array)) throw new ValidationError(field, 'a Float64Array (rows × K)', qHat, context);
  if (qHat.length !== rows * k) throw new ValidationError(`${field}.length`, `${rows * k} (rows × K)`, qHat.length, context);
  return qHat;
}

// ---------------------------------------------------------------------------------------------
// Row and episode selection (used by the bootstrap's generic path and cross-fitting)

/** True when the dataset is episodic. */
export function isEpisodic(data: BanditLog | EpisodicLog): data is EpisodicLog {
  return (data as EpisodicLog).episodeStarts !== undefined;
}

function gather<T extends Int32Array | Float64Array | Float32Array | Uint8Array>(src: T, rows: ArrayLike<number>, width: number): T {
  const out = new (src.constructor as { new (n: number): T })(rows.length * width);
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    if (width === 1) out[j] = src[i];
    else out.set(src.subarray(i * width, (i + 1) * width), j * width);
  }
  return out;
}

/** The rows `rows` (repeats allowed) of a bandit dataset, and of a row-aligned n × K table. */
export function takeRows<T extends BanditDataset>(data: T, rows: ArrayLike<number>): BanditDataset {
  const k = data.numActions;
  return {
    n: rows.length,
    numActions: k,
    actions: gather(data.actions, rows, 1),
    rewards: gather(data.rewards, rows, 1),
    propensities: gather(data.propensities, rows, 1),
    targetProbs: gather(data.targetProbs, rows, k),
    ...(data.actionMask ? { actionMask: gather(data.actionMask, rows, k) } : {}),
    ...(data.features ? { features: gather(data.features, rows, data.featureDim ?? 0), featureDim: data.featureDim } : {}),
  };
}

/** Gathers rows of a rows × width table. */
export function takeTableRows(table: Float64Array, rows: ArrayLike<number>, width: number): Float64Array {
  return gather(table, rows, width);
}

/** Step indices of the given episodes, in order, and the new episode offsets. */
export function episodeSteps(starts: Int32Array, episodes: ArrayLike<number>): { steps: Int32Array; starts: Int32Array } {
  let total = 0;
  for (let j = 0; j < episodes.length; j++) total += starts[episodes[j] + 1] - starts[episodes[j]];
  const steps = new Int32Array(total);
  const newStarts = new Int32Array(episodes.length + 1);
  let s = 0;
  for (let j = 0; j < episodes.length; j++) {
    const e = episodes[j];
    newStarts[j] = s;
    for (let t = starts[e]; t < starts[e + 1]; t++) steps[s++] = t;
  }
  newStarts[episodes.length] = s;
  return { steps, starts: newStarts };
}

/** The episodes `episodes` (repeats allowed) of an episodic dataset, as a new dataset. */
export function takeEpisodes(data: EpisodicDataset, episodes: ArrayLike<number>): EpisodicDataset {
  const { steps, starts } = episodeSteps(data.episodeStarts, episodes);
  const k = data.numActions;
  return {
    numEpisodes: episodes.length,
    numSteps: steps.length,
    numActions: k,
    episodeStarts: starts,
    gamma: data.gamma,
    actions: gather(data.actions, steps, 1),
    rewards: gather(data.rewards, steps, 1),
    propensities: gather(data.propensities, steps, 1),
    targetProbs: gather(data.targetProbs, steps, k),
    ...(data.actionMask ? { actionMask: gather(data.actionMask, steps, k) } : {}),
    ...(data.features ? { features: gather(data.features, steps, data.featureDim ?? 0), featureDim: data.featureDim } : {}),
  };
}

/** Maps each row's feature vector to a dense context id (exact equality of the values). */
export function contextIds(rows: number, features: Float32Array | undefined, d: number): { ids: Int32Array; count: number } {
  const ids = new Int32Array(rows);
  if (!features || d === 0) return { ids, count: rows > 0 ? 1 : 0 };
  const map = new Map<number | string, number>();
  for (let i = 0; i < rows; i++) {
    const key = d === 1 ? features[i] : Array.prototype.join.call(features.subarray(i * d, (i + 1) * d), ',');
    let id = map.get(key);
    if (id === undefined) {
      id = map.size;
      map.set(key, id);
    }
    ids[i] = id;
  }
  return { ids, count: map.size };
}

/**
 * Per-row importance weights w_i = π(a_i|x_i) / μ(a_i|x_i) (bandit), or per-step ratios
 * ρ_t = π(a_t|s_t) / μ(a_t|s_t) (episodic).
 */
export function importanceRatios(data: BanditDataset | EpisodicDataset): Float64Array {
  const rows = isEpisodic(data) ? data.numSteps : (data as BanditDataset).n;
  const k = data.numActions;
  const w = new Float64Array(rows);
  for (let i = 0; i < rows; i++) w[i] = data.targetProbs[i * k + data.actions[i]] / data.propensities[i];
  return w;
}
