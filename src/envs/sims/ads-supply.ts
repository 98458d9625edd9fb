/**
 * AdsSupply-v0: how many ads to insert on each page of a feed session.
 *
 * A user scrolls a feed page by page. On each page the policy chooses how many of the page's
 * `slotsPerPage` items are ads (action `a` in 0..`maxAds`); the other items are organic.
 * Ads earn revenue now; they also raise the user's ad fatigue, which lowers engagement with
 * organic items and raises the chance that the user leaves before the next page. Fatigue
 * decays geometrically between pages. The trade-off is the ads-supply problem of feed
 * ranking: revenue now against a longer, more engaged session.
 *
 * One page (page index t, fatigue f on arrival, user type u drawn at reset):
 *
 *   revenue    = costPerClick · Σ_{k<a} Bernoulli(adClickRate · positionDecay^k)
 *   engagement = Σ over the (slotsPerPage − a) organic items of Bernoulli(engagementRate · e^(−κ f))
 *   reward     = revenue + λ · engagement              (info.rewardVector = { revenue, engagement })
 *   f'         = δ · f + φ_u · a                       (fatigue decays by δ, each ad adds φ_u)
 *   leave      ~ Bernoulli(ℓ(f')),  ℓ(f) = 1 − (1 − ℓ0) · exp(−(f / f_s)^p)
 *
 * with κ = `fatigueEngagement`, λ = `engagementWeight`, δ = `fatigueDecay`, φ_u the type's
 * `fatiguePerAd`, ℓ0 = `leaveBase`, f_s = `leaveFatigueScale`, p = `leaveFatiguePower`.
 * The episode terminates when the user leaves or after page `maxPages` (the end of a
 * session; the page index is observed, so that too is part of the MDP, not a truncation).
 *
 * Positions: the action is a count. Ads fill the page's ad slots in order, and
 * `positionDecay` < 1 makes each later ad slot earn less (a position effect on click rate).
 * Which organic items an ad displaces is not modelled (organic items are alike), so the count
 * is all that matters to fatigue and leaving; a per-slot (MultiBinary) action would add
 * nothing but symmetry.
 *
 * Observation (float32, all in [0, 1]): [t / maxPages, f / fatigueMax, one-hot of the user
 * type], fatigueMax = max_u φ_u · maxAds / (1 − δ) bounds the fatigue (rounded up to the grid
 * when `fatigueStep` > 0). The type stands for the
 * user features a production system has at the start of a session (ad tolerance).
 *
 * Defaults and why (see docs/sims.md for the exact figures): ads are worth 0.1 each in
 * expectation (0.05 × 2), ten times an organic item's weighted engagement (λ · 0.2 = 0.01),
 * so the myopic policy (best immediate page reward) always shows `maxAds`. The leave hazard
 * grows with the fourth power of fatigue (a Weibull-shaped hazard): a little fatigue is almost
 * free and a lot is ruinous, so five ads a page lose most users within two or three pages while
 * one or two a page (fewer for ad-averse users) keep them. The exact DP optimum
 * (`ads-supply-dp.ts`) earns about twice what the myopic policy earns.
 *
 * `fatigueStep` > 0 makes the model discrete: each new fatigue value is rounded to the grid
 * {0, h, 2h, ...} by unbiased stochastic rounding (up with probability equal to the fraction),
 * so the env is a finite MDP that {@link solveAdsSupply} solves exactly.
 *
 * @example
 * const env = make('AdsSupply-v0', { engagementWeight: 0.2 });
 * const { observation } = env.reset({ seed: 0, options: { userType: 1 } });
 * const r = env.step(2); // two ads on the first page
 * r.info.rewardVector; // { revenue, engagement }
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StatefulEnv, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';
import { copyState, invalidActionError } from '../classic/validation.js';

const ENV_ID = 'AdsSupply-v0';

/** One kind of user: how likely it is and how fast ads tire it. */
export const AdsUserTypeSchema = z.strictObject({
  /** Label shown in `info.userType`. */
  name: z.string().min(1),
  /** Probability of drawing this type at reset (the types' weights are normalised). */
  probability: z.number().positive(),
  /** Fatigue each ad adds (φ_u): larger for ad-averse users. */
  fatiguePerAd: z.number().nonnegative(),
});

/** A user type of {@link AdsSupplyOptionsSchema}. */
export type AdsUserType = z.output<typeof AdsUserTypeSchema>;

/**
 * The default user types: ad-averse, neutral and ad-tolerant, 30/40/30. A modelling choice,
 * not measured data: a factor of 2.7 between the extremes so that the optimal schedules differ
 * visibly by type (about one ad every three pages against two a page, see docs/sims.md).
 */
export const DEFAULT_ADS_USER_TYPES: readonly AdsUserType[] = Object.freeze([
  { name: 'averse', probability: 0.3, fatiguePerAd: 0.8 },
  { name: 'neutral', probability: 0.4, fatiguePerAd: 0.5 },
  { name: 'tolerant', probability: 0.3, fatiguePerAd: 0.3 },
]);

/** Options of `make('AdsSupply-v0', ...)`. Defaults are discussed in the module comment. */
export const AdsSupplyOptionsSchema = z
  .strictObject({
    /** Pages a session lasts at most (the episode then terminates). */
    maxPages: z.number().int().min(1).max(10_000).default(20),
    /** Items on a page; `a` of them are ads, the rest organic. */
    slotsPerPage: z.number().int().min(1).max(1000).default(10),
    /** Most ads on one page: the action space is Discrete(maxAds + 1). */
    maxAds: z.number().int().min(1).max(1000).default(5),
    /** Click probability of the first ad slot. */
    adClickRate: z.number().min(0).max(1).default(0.05),
    /** Revenue per ad click. */
    costPerClick: z.number().nonnegative().default(2),
    /** Click-rate factor per later ad slot (1: no position effect). */
    positionDecay: z.number().min(0).max(1).default(1),
    /** Probability that a user engages with an organic item at zero fatigue. */
    engagementRate: z.number().min(0).max(1).default(0.2),
    /** κ: engagement is scaled by exp(−κ · fatigue). */
    fatigueEngagement: z.number().nonnegative().default(0.3),
    /** λ: weight of engagement in the scalar reward (revenue + λ · engagement). */
    engagementWeight: z.number().nonnegative().default(0.05),
    /** δ: fatigue is multiplied by δ on every page (geometric decay). */
    fatigueDecay: z.number().min(0).lt(1).default(0.7),
    /** ℓ0: probability of leaving after a page at zero fatigue. */
    leaveBase: z.number().min(0).lt(1).default(0.03),
    /** f_s: fatigue at which the fatigue part of the leave hazard is 1 (ℓ = 1 − (1 − ℓ0)/e). */
    leaveFatigueScale: z.number().positive().default(4),
    /** p: shape of the leave hazard in fatigue ((f / f_s)^p; p > 1 is convex). */
    leaveFatiguePower: z.number().positive().default(4),
    /** The user types drawn at reset; each adds one entry to the observation's one-hot. */
    userTypes: z.array(AdsUserTypeSchema).min(1).max(32).default(() => DEFAULT_ADS_USER_TYPES.map((t) => ({ ...t }))),
    /** Fatigue grid step h: 0 keeps fatigue continuous, h > 0 makes the model a finite MDP. */
    fatigueStep: z.number().nonnegative().default(0),
  })
  .refine((o) => o.maxAds <= o.slotsPerPage, { message: 'maxAds must be at most slotsPerPage', path: ['maxAds'] })
  .refine((o) => o.fatigueStep === 0 || fatigueMaxOf(o) / o.fatigueStep <= 1e6, {
    message: 'fatigueStep too small: the fatigue grid would have more than 1e6 levels',
    path: ['fatigueStep'],
  });

/** Options as a user writes them. */
export type AdsSupplyOptions = z.input<typeof AdsSupplyOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedAdsSupplyOptions = z.output<typeof AdsSupplyOptionsSchema>;

/** Validates options and fills defaults (throws a ValidationError naming the field). */
export function resolveAdsSupplyOptions(options: AdsSupplyOptions | ResolvedAdsSupplyOptions = {}): ResolvedAdsSupplyOptions {
  return parseWith(AdsSupplyOptionsSchema, options, ENV_ID);
}

function fatigueMaxOf(o: { userTypes: readonly AdsUserType[]; maxAds: number; fatigueDecay: number }): number {
  let phi = 0;
  for (const t of o.userTypes) phi = Math.max(phi, t.fatiguePerAd);
  return (phi * o.maxAds) / (1 - o.fatigueDecay);
}

/** max_u φ_u · maxAds / (1 − δ), or 1 when no ad tires anyone (so it can divide). */
function fatigueBound(o: ResolvedAdsSupplyOptions): number {
  const m = fatigueMaxOf(o);
  return m > 0 ? m : 1;
}

/**
 * Upper bound of the fatigue, max_u φ_u · maxAds / (1 − δ) (the fixed point of always showing
 * `maxAds` to the most ad-averse type), rounded up to the grid when `fatigueStep` > 0; the
 * observation divides fatigue by it, so on the grid the observation identifies the level
 * exactly. Never 0.
 */
export function adsFatigueMax(o: ResolvedAdsSupplyOptions): number {
  return o.fatigueStep > 0 ? adsFatigueTopLevel(o, o.fatigueStep) * o.fatigueStep : fatigueBound(o);
}

/** Expected revenue of a page with `a` ads: costPerClick · adClickRate · Σ_{k<a} positionDecay^k. */
export function adsExpectedRevenue(o: ResolvedAdsSupplyOptions, a: number): number {
  let s = 0;
  let w = 1;
  for (let k = 0; k < a; k++) {
    s += w;
    w *= o.positionDecay;
  }
  return o.costPerClick * o.adClickRate * s;
}

/** Probability that one organic item is engaged with at fatigue `f`. */
export function adsEngagementProbability(o: ResolvedAdsSupplyOptions, f: number): number {
  return o.engagementRate * Math.exp(-o.fatigueEngagement * f);
}

/** Expected scalar reward of a page with `a` ads at arrival fatigue `f`. */
export function adsExpectedReward(o: ResolvedAdsSupplyOptions, a: number, f: number): number {
  return adsExpectedRevenue(o, a) + o.engagementWeight * (o.slotsPerPage - a) * adsEngagementProbability(o, f);
}

/** Fatigue after a page with `a` ads, before rounding: δ · f + φ · a. */
export function adsNextFatigue(o: ResolvedAdsSupplyOptions, f: number, a: number, fatiguePerAd: number): number {
  return o.fatigueDecay * f + fatiguePerAd * a;
}

/** Probability of leaving after a page that left fatigue `f`: 1 − (1 − ℓ0) · exp(−(f / f_s)^p). */
export function adsLeaveProbability(o: ResolvedAdsSupplyOptions, f: number): number {
  return 1 - (1 - o.leaveBase) * Math.exp(-Math.pow(f / o.leaveFatigueScale, o.leaveFatiguePower));
}

/**
 * Index of the top level of the fatigue grid of step `h`: the first level at or above the
 * fatigue bound (1e-9 absorbs rounding in the division).
 */
export function adsFatigueTopLevel(o: ResolvedAdsSupplyOptions, h: number): number {
  return Math.ceil(fatigueBound(o) / h - 1e-9);
}

/**
 * Stochastic rounding of fatigue `x` to the grid of step `h`: the lower level index and the
 * probability of rounding up instead (`x / h − lower`), kept within level `top` (fatigue never
 * exceeds the grid's top in exact arithmetic; this absorbs rounding error). The env and the DP
 * share it, so the discretised env is exactly the DP's MDP.
 */
export function adsFatigueRounding(x: number, h: number, top: number): { lower: number; up: number } {
  const q = x / h;
  const lower = Math.floor(q);
  if (lower >= top) return { lower: top, up: 0 };
  return { lower, up: q - lower };
}

/** Writes the observation of (page, fatigue, type) into `out` (length 2 + number of types). */
export function adsObservation(o: ResolvedAdsSupplyOptions, page: number, fatigue: number, type: number, out: Float32Array): Float32Array {
  out.fill(0);
  out[0] = page / o.maxPages;
  out[1] = Math.min(1, fatigue / adsFatigueMax(o));
  out[2 + type] = 1;
  return out;
}

/** AdsSupply-v0; see the module comment. */
export class AdsSupply implements Env<Float32Array, number>, StatefulEnv<Float64Array> {
  readonly observationSpace: Box;
  readonly actionSpace: Discrete;
  spec?: EnvSpec = undefined;
  readonly options: ResolvedAdsSupplyOptions;
  private readonly typeWeights: Float64Array;
  private readonly topLevel: number;
  private page = 0;
  private fatigue = 0;
  private type = 0;
  private done = true;
  private rng: Rng | undefined = undefined;

  constructor(options: AdsSupplyOptions = {}) {
    this.options = resolveAdsSupplyOptions(options);
    const o = this.options;
    this.observationSpace = new Box(0, 1, [2 + o.userTypes.length]);
    this.actionSpace = new Discrete(o.maxAds + 1);
    this.typeWeights = Float64Array.from(o.userTypes, (t) => t.probability);
    this.topLevel = o.fatigueStep > 0 ? adsFatigueTopLevel(o, o.fatigueStep) : 0;
  }

  /** Upper bound of the fatigue (the observation's scale). */
  get fatigueMax(): number {
    return adsFatigueMax(this.options);
  }

  /**
   * Starts a session on page 0 with zero fatigue and a user type drawn from `userTypes`
   * (or `options.userType`, an index or a name, to fix it).
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    const given = opts?.options?.userType;
    const types = this.options.userTypes;
    if (given !== undefined) {
      const index = typeof given === 'string' ? types.findIndex((t) => t.name === given) : given;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= types.length) {
        throw new ValidationError('options.userType', `a type index in [0, ${types.length - 1}] or one of ${types.map((t) => JSON.stringify(t.name)).join(', ')}`, given, `${ENV_ID} reset`);
      }
      this.type = index;
    } else {
      this.type = rng.categorical(this.typeWeights);
    }
    this.page = 0;
    this.fatigue = 0;
    this.done = false;
    return { observation: this.observe(), info: { userType: types[this.type].name } };
  }

  /** Shows page `page` with `action` ads; see the module comment for the dynamics. */
  step(action: number): StepResult<Float32Array> {
    if (!this.actionSpace.contains(action)) throw invalidActionError(ENV_ID, action, this.actionSpace);
    if (this.done) throw new KairosError(`${ENV_ID}: step() after the episode ended; call reset()`, 'reset_needed');
    const o = this.options;
    const rng = this.rng!;
    let clicks = 0;
    let ctr = o.adClickRate;
    for (let k = 0; k < action; k++) {
      if (rng.random() < ctr) clicks++;
      ctr *= o.positionDecay;
    }
    const pEngage = adsEngagementProbability(o, this.fatigue);
    let engagement = 0;
    for (let k = action; k < o.slotsPerPage; k++) if (rng.random() < pEngage) engagement++;
    const revenue = clicks * o.costPerClick;

    let f = adsNextFatigue(o, this.fatigue, action, o.userTypes[this.type].fatiguePerAd);
    if (o.fatigueStep > 0) {
      const { lower, up } = adsFatigueRounding(f, o.fatigueStep, this.topLevel);
      f = (up > 0 && rng.random() < up ? lower + 1 : lower) * o.fatigueStep;
    }
    this.fatigue = f;
    this.page++;
    let left = false;
    if (this.page >= o.maxPages) {
      this.done = true;
    } else if (rng.random() < adsLeaveProbability(o, f)) {
      left = true;
      this.done = true;
    }
    return {
      observation: this.observe(),
      reward: revenue + o.engagementWeight * engagement,
      terminated: this.done,
      truncated: false,
      info: { rewardVector: { revenue, engagement }, left, ads: action },
    };
  }

  /** A copy of the state [page, fatigue, user type index]. */
  getState(): Float64Array {
    return Float64Array.of(this.page, this.fatigue, this.type);
  }

  /**
   * Sets the state [page, fatigue, user type index] (for planners and exact tests); the
   * episode continues from it.
   *
   * @example
   * env.reset({ seed: 0 });
   * env.setState([3, 1.5, 0]); // page 3, fatigue 1.5, the first user type
   */
  setState(state: ArrayLike<number>): void {
    const s = new Float64Array(3);
    copyState(ENV_ID, state, s, ['page', 'fatigue', 'userType']);
    const o = this.options;
    if (!Number.isInteger(s[0]) || s[0] < 0 || s[0] >= o.maxPages) throw new ValidationError('state[0]', `a page index in [0, ${o.maxPages - 1}]`, s[0], `${ENV_ID} setState`);
    if (s[1] < 0) throw new ValidationError('state[1]', 'a fatigue >= 0', s[1], `${ENV_ID} setState`);
    if (!Number.isInteger(s[2]) || s[2] < 0 || s[2] >= o.userTypes.length) {
      throw new ValidationError('state[2]', `a user type index in [0, ${o.userTypes.length - 1}]`, s[2], `${ENV_ID} setState`);
    }
    this.page = s[0];
    this.fatigue = s[1];
    this.type = s[2];
    this.done = false;
  }

  private observe(): Float32Array {
    return adsObservation(this.options, this.page, this.fatigue, this.type, new Float32Array(this.observationSpace.size));
  }
}

/**
 * The myopic policy of `options`: on each page, the action with the best expected immediate
 * reward at the observed fatigue (ties go to fewer ads). With the defaults it always shows
 * `maxAds`; it is the baseline the DP optimum beats (docs/sims.md).
 *
 * @example
 * const policy = adsMyopicPolicy();
 * policy(env.reset({ seed: 0 }).observation); // 5
 */
export function adsMyopicPolicy(options: AdsSupplyOptions = {}): (obs: Float32Array) => number {
  const o = resolveAdsSupplyOptions(options);
  const fMax = adsFatigueMax(o);
  return (obs) => {
    const f = obs[1] * fMax;
    let best = -Infinity;
    let arg = 0;
    for (let a = 0; a <= o.maxAds; a++) {
      const r = adsExpectedReward(o, a, f);
      if (r > best + 1e-12) {
        best = r;
        arg = a;
      }
    }
    return arg;
  };
}

/** Registration of AdsSupply-v0 (`envs/builtin.ts` registers it). */
export const adsSupplyRegistration: EnvRegistration<ResolvedAdsSupplyOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new AdsSupply(opts),
  optionsSchema: AdsSupplyOptionsSchema as unknown as z.ZodType<ResolvedAdsSupplyOptions>,
  description: 'Feed ads supply: ads per page earn revenue but build fatigue that cuts engagement and ends sessions; exact DP optimum.',
};
