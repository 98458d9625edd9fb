/**
 * Seeded synthetic problems whose policy values are known exactly, to check OPE estimators
 * against ground truth.
 *
 * (a) {@link makeSyntheticBandit}: a contextual bandit over a finite population of M contexts
 *     with probabilities p(x). Features are Gaussian vectors (one per context) or the context
 *     id itself; the mean reward is linear in the features plus a small sinusoidal term (so a
 *     linear model is close but not exact); observed rewards add Gaussian noise. Because the
 *     context distribution is finite, V(π) = Σ_x p(x) Σ_a π(a|x) r(x, a) is an exact sum.
 * (b) {@link makeSyntheticMdp}: a tabular episodic MDP (S states, K actions, horizon H, γ, an
 *     optional per-(s, a) termination probability) whose V(π) for a stationary policy is
 *     computed exactly by backward dynamic programming over t = H−1..0.
 *
 * Both generate logs from a softmax behaviour policy mixed with a little uniform exploration
 * (so every allowed action has propensity ≥ mix/K) and offer several named target policies
 * with their exact values.
 *
 * @example
 * const problem = makeSyntheticBandit({ seed: 1, numActions: 5 });
 * const log = problem.sample(10_000, 7);
 * const target = problem.targets[2];
 * ips().estimate(problem.withTarget(log, target.probs)).value; // ≈ target.value
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { BanditDataset, BanditLog, EpisodicDataset, EpisodicLog } from './types.js';

/** A named target policy with its exact value. */
export interface SyntheticTarget {
  name: string;
  /** π(a|context) (bandit: M × K) or π(a|s) (MDP: S × K). */
  probs: Float64Array;
  value: number;
}

function softmaxInto(scores: ArrayLike<number>, temperature: number, allowed: ArrayLike<number>, out: Float64Array, o: number, k: number): void {
  let max = -Infinity;
  for (let a = 0; a < k; a++) if (allowed[o + a] && scores[o + a] > max) max = scores[o + a];
  let sum = 0;
  for (let a = 0; a < k; a++) {
    const e = allowed[o + a] ? Math.exp((scores[o + a] - max) / temperature) : 0;
    out[o + a] = e;
    sum += e;
  }
  for (let a = 0; a < k; a++) out[o + a] /= sum;
}

function mixUniform(probs: Float64Array, allowed: ArrayLike<number>, rows: number, k: number, mix: number): void {
  for (let i = 0; i < rows; i++) {
    let m = 0;
    for (let a = 0; a < k; a++) m += allowed[i * k + a] ? 1 : 0;
    for (let a = 0; a < k; a++) {
      const o = i * k + a;
      probs[o] = allowed[o] ? (1 - mix) * probs[o] + mix / m : 0;
    }
  }
}

function epsGreedy(scores: Float64Array, allowed: ArrayLike<number>, rows: number, k: number, eps: number): Float64Array {
  const out = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    let best = -1;
    for (let a = 0; a < k; a++) if (allowed[i * k + a] && (best < 0 || scores[i * k + a] > scores[i * k + best])) best = a;
    out[i * k + best] = 1;
  }
  mixUniform(out, allowed, rows, k, eps);
  return out;
}

/** Index of u in a cumulative table cdf[0..m) (first entry with u < cdf[j]). */
function searchCdf(cdf: Float64Array, offset: number, m: number, u: number): number {
  let lo = 0;
  let hi = m - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u < cdf[offset + mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulative(probs: Float64Array, rows: number, m: number): Float64Array {
  const cdf = new Float64Array(rows * m);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) cdf[i * m + j] = s += probs[i * m + j];
    // From the last action with positive probability on, the table is +∞: that action takes
    // every u the rounding of the sum leaves above it, and the table stays sorted for the
    // binary search. Zero-probability actions are never drawn (u < cdf[j] fails for them
    // whenever it failed for the entry before).
    let last = m - 1;
    while (last > 0 && probs[i * m + last] === 0) last--;
    for (let j = last; j < m; j++) cdf[i * m + j] = Infinity;
  }
  return cdf;
}

// ---------------------------------------------------------------------------------------------
// (a) Contextual bandit

export const SyntheticBanditConfig = z.object({
  seed: z.number().int().min(0).default(0),
  numActions: z.number().int().min(2).default(5),
  /** Size M of the context population. */
  numContexts: z.number().int().min(1).default(200),
  /** Dimension of the Gaussian feature vectors (features are the id when featureKind is `discrete`). */
  featureDim: z.number().int().min(1).default(4),
  /** `gaussian`: features are each context's Gaussian vector; `discrete`: the context id (d = 1). */
  featureKind: z.enum(['gaussian', 'discrete']).default('gaussian'),
  /** Standard deviation of the reward noise. */
  noiseStd: z.number().min(0).default(0.5),
  /** Weight of the non-linear term of the mean reward. */
  nonlinearity: z.number().min(0).default(0.3),
  /** Temperature of the behaviour softmax (lower = greedier logging, heavier weights). */
  behaviourTemperature: z.number().positive().default(1),
  /** Uniform exploration mixed into the behaviour policy. */
  uniformMix: z.number().min(0).lt(1).default(0.05),
  /** Probability that an action is masked out in a context (at least 2 stay allowed). */
  maskedFraction: z.number().min(0).lt(1).default(0),
});
export type SyntheticBanditConfig = z.input<typeof SyntheticBanditConfig>;

/** A bandit log from a synthetic problem, with the context id of each row. */
export interface SyntheticBanditLog extends BanditLog {
  readonly contexts: Int32Array;
}

/** A synthetic contextual bandit with exact policy values. */
export interface SyntheticBandit {
  readonly config: z.output<typeof SyntheticBanditConfig>;
  readonly numContexts: number;
  readonly numActions: number;
  /** d of the logged features. */
  readonly featureDim: number;
  /** Logged features per context (M × d). */
  readonly contextFeatures: Float32Array;
  /** p(x) per context. */
  readonly contextProbs: Float64Array;
  /** Mean reward r(x, a) (M × K). */
  readonly meanRewards: Float64Array;
  /** Allowed actions (M × K). */
  readonly actionMask: Uint8Array;
  /** Behaviour policy μ(a|x) (M × K). */
  readonly behaviour: Float64Array;
  /** Named targets: behaviour (on-policy), uniform, tempered softmax of r, near-greedy softmax of r, ε-greedy. */
  readonly targets: SyntheticTarget[];
  /** Exact V(π) = Σ_x p(x) Σ_a π(a|x) r(x, a) of a policy table (M × K). */
  value(policy: Float64Array): number;
  /** n logged rows from the behaviour policy, seeded. */
  sample(n: number, seed: number): SyntheticBanditLog;
  /** The log with a target policy table (M × K) attached per row (not re-validated). */
  withTarget(log: SyntheticBanditLog, policy: Float64Array): BanditDataset;
  /** The exact reward model r(x_i, a) for every row (n × K). */
  trueRewardModel(log: SyntheticBanditLog): { qHat: Float64Array };
}

/** Builds a seeded synthetic contextual bandit (see the module comment). */
export function makeSyntheticBandit(config: SyntheticBanditConfig = {}): SyntheticBandit {
  const cfg = parseWith(SyntheticBanditConfig, config, 'makeSyntheticBandit');
  const { numActions: k, numContexts: m, featureDim: dz } = cfg;
  const rng = new Rng(cfg.seed);
  const latent = new Float64Array(m * dz);
  for (let j = 0; j < latent.length; j++) latent[j] = rng.normal();
  const contextProbs = new Float64Array(m);
  let zsum = 0;
  for (let c = 0; c < m; c++) zsum += contextProbs[c] = Math.exp(0.5 * rng.normal());
  for (let c = 0; c < m; c++) contextProbs[c] /= zsum;
  const theta = new Float64Array(k * dz);
  for (let j = 0; j < theta.length; j++) theta[j] = rng.normal(0, 1 / Math.sqrt(dz));
  const bias = new Float64Array(k);
  for (let a = 0; a < k; a++) bias[a] = rng.normal(0, 0.5);
  const meanRewards = new Float64Array(m * k);
  for (let c = 0; c < m; c++) {
    for (let a = 0; a < k; a++) {
      let r = bias[a];
      for (let j = 0; j < dz; j++) r += theta[a * dz + j] * latent[c * dz + j];
      meanRewards[c * k + a] = r + cfg.nonlinearity * Math.sin((a + 1) * latent[c * dz]);
    }
  }
  const actionMask = new Uint8Array(m * k).fill(1);
  if (cfg.maskedFraction > 0) {
    for (let c = 0; c < m; c++) {
      let allowed = 0;
      for (let a = 0; a < k; a++) {
        if (rng.random() < cfg.maskedFraction) actionMask[c * k + a] = 0;
        else allowed++;
      }
      while (allowed < 2) {
        const a = rng.int(k);
        if (!actionMask[c * k + a]) {
          actionMask[c * k + a] = 1;
          allowed++;
        }
      }
    }
  }
  // Behaviour: softmax of scores that correlate with the reward (production is not random).
  const scores = new Float64Array(m * k);
  for (let j = 0; j < scores.length; j++) scores[j] = 0.5 * meanRewards[j] + 0.7 * rng.normal();
  const behaviour = new Float64Array(m * k);
  for (let c = 0; c < m; c++) softmaxInto(scores, cfg.behaviourTemperature, actionMask, behaviour, c * k, k);
  mixUniform(behaviour, actionMask, m, k, cfg.uniformMix);

  const value = (policy: Float64Array): number => {
    if (policy.length !== m * k) throw new ValidationError('policy.length', `${m * k} (contexts × K)`, policy.length, 'syntheticBandit.value');
    let v = 0;
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += policy[c * k + a] * meanRewards[c * k + a];
      v += contextProbs[c] * s;
    }
    return v;
  };
  const uniform = new Float64Array(m * k);
  mixUniform(uniform, actionMask, m, k, 1);
  const softmaxOf = (temperature: number) => {
    const out = new Float64Array(m * k);
    for (let c = 0; c < m; c++) softmaxInto(meanRewards, temperature, actionMask, out, c * k, k);
    return out;
  };
  const targetTables: [string, Float64Array][] = [
    ['behaviour', behaviour],
    ['uniform', uniform],
    ['softmax-r(τ=1)', softmaxOf(1)],
    ['softmax-r(τ=0.2)', softmaxOf(0.2)],
    ['eps-greedy(0.1)', epsGreedy(meanRewards, actionMask, m, k, 0.1)],
  ];
  const targets = targetTables.map(([name, probs]) => ({ name, probs, value: value(probs) }));

  const featureDim = cfg.featureKind === 'gaussian' ? dz : 1;
  const contextFeatures = new Float32Array(m * featureDim);
  if (cfg.featureKind === 'gaussian') contextFeatures.set(latent);
  else for (let c = 0; c < m; c++) contextFeatures[c] = c;

  const contextCdf = cumulative(contextProbs, 1, m);
  const behaviourCdf = cumulative(behaviour, m, k);

  return {
    config: cfg,
    numContexts: m,
    numActions: k,
    featureDim,
    contextFeatures,
    contextProbs,
    meanRewards,
    actionMask,
    behaviour,
    targets,
    value,
    sample(n, seed) {
      const r = new Rng(seed);
      const contexts = new Int32Array(n);
      const actions = new Int32Array(n);
      const rewards = new Float64Array(n);
      const propensities = new Float64Array(n);
      const features = new Float32Array(n * featureDim);
      const mask = cfg.maskedFraction > 0 ? new Uint8Array(n * k) : undefined;
      for (let i = 0; i < n; i++) {
        const c = searchCdf(contextCdf, 0, m, r.random());
        const a = searchCdf(behaviourCdf, c * k, k, r.random());
        contexts[i] = c;
        actions[i] = a;
        propensities[i] = behaviour[c * k + a];
        rewards[i] = meanRewards[c * k + a] + (cfg.noiseStd > 0 ? r.normal(0, cfg.noiseStd) : 0);
        if (featureDim === 1) features[i] = contextFeatures[c];
        else features.set(contextFeatures.subarray(c * featureDim, (c + 1) * featureDim), i * featureDim);
        if (mask) mask.set(actionMask.subarray(c * k, (c + 1) * k), i * k);
      }
      return { n, numActions: k, actions, rewards, propensities, features, featureDim, contexts, ...(mask ? { actionMask: mask } : {}) };
    },
    withTarget(log, policy) {
      const targetProbs = new Float64Array(log.n * k);
      for (let i = 0; i < log.n; i++) targetProbs.set(policy.subarray(log.contexts[i] * k, (log.contexts[i] + 1) * k), i * k);
      return { ...log, targetProbs };
    },
    trueRewardModel(log) {
      const qHat = new Float64Array(log.n * k);
      for (let i = 0; i < log.n; i++) qHat.set(meanRewards.subarray(log.contexts[i] * k, (log.contexts[i] + 1) * k), i * k);
      return { qHat };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (b) Episodic MDP

export const SyntheticMdpConfig = z.object({
  seed: z.number().int().min(0).default(0),
  numStates: z.number().int().min(1).default(4),
  numActions: z.number().int().min(2).default(3),
  horizon: z.number().int().min(1).default(5),
  gamma: z.number().min(0).max(1).default(0.9),
  /** Upper bound of the per-(s, a) termination probability (each drawn uniformly below it). */
  terminationProb: z.number().min(0).max(1).default(0.1),
  noiseStd: z.number().min(0).default(0.5),
  behaviourTemperature: z.number().positive().default(1),
  uniformMix: z.number().min(0).lt(1).default(0.1),
  /**
   * Logged features: `id` is the time-augmented state id t·S + s (d = 1; a finite-horizon
   * value depends on t, so stationary tabular models such as FQE need it); `one-hot` is its
   * one-hot vector (d = H·S, for linear FQE).
   */
  featureKind: z.enum(['id', 'one-hot']).default('id'),
});
export type SyntheticMdpConfig = z.input<typeof SyntheticMdpConfig>;

/** Episodes from a synthetic MDP, with the state and time of every step. */
export interface SyntheticEpisodes extends EpisodicLog {
  readonly states: Int32Array;
  readonly times: Int32Array;
}

/** A synthetic tabular MDP with exact policy values. */
export interface SyntheticMdp {
  readonly config: z.output<typeof SyntheticMdpConfig>;
  readonly numStates: number;
  readonly numActions: number;
  readonly horizon: number;
  readonly gamma: number;
  /** P(s'|s, a), S × K × S. */
  readonly transitions: Float64Array;
  /** Mean reward R(s, a), S × K. */
  readonly meanRewards: Float64Array;
  /** Termination probability after (s, a), S × K. */
  readonly termination: Float64Array;
  /** Initial state distribution. */
  readonly initial: Float64Array;
  /** Behaviour policy μ(a|s), S × K. */
  readonly behaviour: Float64Array;
  /** Named targets: behaviour, uniform, softmax of R (near-greedy), a random softmax, ε-greedy on Q*. */
  readonly targets: SyntheticTarget[];
  /** Q^π_t(s, a) for t = 0..H−1 (H × S × K) of a stationary policy (S × K), by backward DP. */
  qValues(policy: Float64Array): Float64Array;
  /** Exact V(π) = Σ_s p_0(s) V^π_0(s). */
  value(policy: Float64Array): number;
  sample(numEpisodes: number, seed: number): SyntheticEpisodes;
  /** The episodes with π(·|s_t) attached per step (not re-validated). */
  withTarget(episodes: SyntheticEpisodes, policy: Float64Array): EpisodicDataset;
  /** The exact Q^π_t(s_t, ·) at every logged step (numSteps × K). */
  trueQModel(episodes: SyntheticEpisodes, policy: Float64Array): { qHat: Float64Array };
}

/** Builds a seeded synthetic episodic MDP (see the module comment). */
export function makeSyntheticMdp(config: SyntheticMdpConfig = {}): SyntheticMdp {
  const cfg = parseWith(SyntheticMdpConfig, config, 'makeSyntheticMdp');
  const { numStates: s, numActions: k, horizon: h, gamma } = cfg;
  const rng = new Rng(cfg.seed);
  // Dirichlet(1) rows via normalised exponentials.
  const dirichlet = (out: Float64Array, o: number, m: number) => {
    let sum = 0;
    for (let j = 0; j < m; j++) sum += out[o + j] = rng.exponential();
    for (let j = 0; j < m; j++) out[o + j] /= sum;
  };
  const transitions = new Float64Array(s * k * s);
  for (let sa = 0; sa < s * k; sa++) dirichlet(transitions, sa * s, s);
  const meanRewards = new Float64Array(s * k);
  for (let j = 0; j < s * k; j++) meanRewards[j] = rng.normal();
  const termination = new Float64Array(s * k);
  for (let j = 0; j < s * k; j++) termination[j] = cfg.terminationProb * rng.random();
  const initial = new Float64Array(s);
  dirichlet(initial, 0, s);
  const allowed = new Uint8Array(s * k).fill(1);
  const logits = new Float64Array(s * k);
  for (let j = 0; j < s * k; j++) logits[j] = rng.normal();
  const behaviour = new Float64Array(s * k);
  for (let x = 0; x < s; x++) softmaxInto(logits, cfg.behaviourTemperature, allowed, behaviour, x * k, k);
  mixUniform(behaviour, allowed, s, k, cfg.uniformMix);

  const qValues = (policy: Float64Array): Float64Array => {
    if (policy.length !== s * k) throw new ValidationError('policy.length', `${s * k} (states × K)`, policy.length, 'syntheticMdp');
    const q = new Float64Array(h * s * k);
    const vNext = new Float64Array(s); // V_H = 0
    for (let t = h - 1; t >= 0; t--) {
      const v = new Float64Array(s);
      for (let x = 0; x < s; x++) {
        for (let a = 0; a < k; a++) {
          let cont = 0;
          for (let y = 0; y < s; y++) cont += transitions[(x * k + a) * s + y] * vNext[y];
          const qa = meanRewards[x * k + a] + gamma * (1 - termination[x * k + a]) * cont;
          q[(t * s + x) * k + a] = qa;
          v[x] += policy[x * k + a] * qa;
        }
      }
      vNext.set(v);
    }
    return q;
  };
  const value = (policy: Float64Array): number => {
    const q = qValues(policy);
    let v = 0;
    for (let x = 0; x < s; x++) for (let a = 0; a < k; a++) v += initial[x] * policy[x * k + a] * q[x * k + a];
    return v;
  };
  // Q* at t = 0 (greedy backward DP) for an ε-greedy target that is good but stationary.
  const qStar = new Float64Array(s * k);
  {
    const vNext = new Float64Array(s);
    for (let t = h - 1; t >= 0; t--) {
      const v = new Float64Array(s).fill(-Infinity);
      for (let x = 0; x < s; x++) {
        for (let a = 0; a < k; a++) {
          let cont = 0;
          for (let y = 0; y < s; y++) cont += transitions[(x * k + a) * s + y] * vNext[y];
          const qa = meanRewards[x * k + a] + gamma * (1 - termination[x * k + a]) * cont;
          if (t === 0) qStar[x * k + a] = qa;
          v[x] = Math.max(v[x], qa);
        }
      }
      vNext.set(v);
    }
  }
  const uniform = new Float64Array(s * k).fill(1 / k);
  const softR = new Float64Array(s * k);
  for (let x = 0; x < s; x++) softmaxInto(meanRewards, 0.5, allowed, softR, x * k, k);
  const randomLogits = new Float64Array(s * k);
  for (let j = 0; j < s * k; j++) randomLogits[j] = rng.normal();
  const softRandom = new Float64Array(s * k);
  for (let x = 0; x < s; x++) softmaxInto(randomLogits, 1, allowed, softRandom, x * k, k);
  const targetTables: [string, Float64Array][] = [
    ['behaviour', behaviour],
    ['uniform', uniform],
    ['softmax-R(τ=0.5)', softR],
    ['random-softmax', softRandom],
    ['eps-greedy-Q*(0.1)', epsGreedy(qStar, allowed, s, k, 0.1)],
  ];
  const targets = targetTables.map(([name, probs]) => ({ name, probs, value: value(probs) }));

  const initialCdf = cumulative(initial, 1, s);
  const behaviourCdf = cumulative(behaviour, s, k);
  const transitionCdf = cumulative(transitions, s * k, s);
  const featureDim = cfg.featureKind === 'id' ? 1 : h * s;

  return {
    config: cfg,
    numStates: s,
    numActions: k,
    horizon: h,
    gamma,
    transitions,
    meanRewards,
    termination,
    initial,
    behaviour,
    targets,
    qValues,
    value,
    sample(numEpisodes, seed) {
      const r = new Rng(seed);
      const cap = numEpisodes * h;
      const states = new Int32Array(cap);
      const times = new Int32Array(cap);
      const actions = new Int32Array(cap);
      const rewards = new Float64Array(cap);
      const propensities = new Float64Array(cap);
      const episodeStarts = new Int32Array(numEpisodes + 1);
      let j = 0;
      for (let e = 0; e < numEpisodes; e++) {
        episodeStarts[e] = j;
        let x = searchCdf(initialCdf, 0, s, r.random());
        for (let t = 0; t < h; t++) {
          const a = searchCdf(behaviourCdf, x * k, k, r.random());
          states[j] = x;
          times[j] = t;
          actions[j] = a;
          propensities[j] = behaviour[x * k + a];
          rewards[j] = meanRewards[x * k + a] + (cfg.noiseStd > 0 ? r.normal(0, cfg.noiseStd) : 0);
          j++;
          if (r.random() < termination[x * k + a]) break;
          x = searchCdf(transitionCdf, (x * k + a) * s, s, r.random());
        }
      }
      episodeStarts[numEpisodes] = j;
      const features = new Float32Array(j * featureDim);
      for (let i = 0; i < j; i++) {
        const id = times[i] * s + states[i];
        if (featureDim === 1) features[i] = id;
        else features[i * featureDim + id] = 1;
      }
      return {
        numEpisodes,
        numSteps: j,
        numActions: k,
        episodeStarts,
        gamma,
        states: states.slice(0, j),
        times: times.slice(0, j),
        actions: actions.slice(0, j),
        rewards: rewards.slice(0, j),
        propensities: propensities.slice(0, j),
        features,
        featureDim,
      };
    },
    withTarget(episodes, policy) {
      const targetProbs = new Float64Array(episodes.numSteps * k);
      for (let i = 0; i < episodes.numSteps; i++) {
        targetProbs.set(policy.subarray(episodes.states[i] * k, (episodes.states[i] + 1) * k), i * k);
      }
      return { ...episodes, targetProbs };
    },
    trueQModel(episodes, policy) {
      const q = qValues(policy);
      const qHat = new Float64Array(episodes.numSteps * k);
      for (let i = 0; i < episodes.numSteps; i++) {
        const o = (episodes.times[i] * s + episodes.states[i]) * k;
        qHat.set(q.subarray(o, o + k), i * k);
      }
      return { qHat };
    },
  };
}
