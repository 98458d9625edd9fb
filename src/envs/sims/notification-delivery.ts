/**
 * NotificationDelivery-v0: whether (and which) notification to send, slot by slot.
 *
 * A slot is one delivery opportunity (think one a day). In each slot the policy either sends
 * nothing (action 0) or sends a notification of type i (action i + 1, i < m). A sent
 * notification is clicked with a probability that falls with the user's fatigue and with how
 * recently the last one was sent; every send may also make the user unsubscribe, more likely
 * the more fatigued they are, which ends the episode at a cost. Each episode is one user from
 * a group of similar users: their click propensity is the group's times a multiplier μ drawn
 * uniformly from [1 − userSpread, 1 + userSpread] at reset and never observed (the click
 * history reveals it only gradually).
 *
 * One slot t, with fatigue f and g slots since the last send (g = ∞ before the first):
 *
 *   send type i:   click ~ Bernoulli(clickRate_i · μ · (1 − e^(−g/τ)) · e^(−β f))
 *                  unsubscribe ~ Bernoulli(1 − e^(−(u0 + u1 · (f + w_i))))
 *                  f ← δ · (f + w_i),  g ← 1
 *   no send:       f ← δ · f,  g ← g + 1
 *
 * with τ = `recencyScale`, β = `fatigueClick`, δ = `fatigueDecay`, w_i the type's `fatigue`,
 * u0 = `unsubscribeBase`, u1 = `unsubscribeFatigue`. The recency factor 1 − e^(−g/τ) is a
 * saturating response: a notification right after another is mostly ignored. The episode
 * terminates on unsubscribe or after `horizon` slots.
 *
 * Reward: `info.rewardVector = { clicks, unsubscribes }`, both higher-is-better: `clicks` is 1
 * on a click, `unsubscribes` is −1 on the slot the user unsubscribes. The scalar reward is
 * clicks + unsubscribeCost · unsubscribes (the cost is the user's lost future clicks).
 *
 * Observation (float32, in [0, 1]): the delivery history of the last `window` slots, oldest
 * first, each slot as [one-hot of the type sent (m zeros if none), clicked]; then
 * min(g, maxGap) / maxGap (1 before the first send); then t / horizon. The fatigue is a
 * function of the send history (an exponentially decaying sum), so the window carries it up to
 * δ^window ≈ 0.08 with the defaults.
 *
 * Defaults and why: with one type (click rate 0.3, fatigue 1), sending every slot builds
 * fatigue to 1 / (1 − δ) ≈ 3.3, halves the click rate twice over (recency and fatigue) and
 * loses 86% of users within the 60 slots: its expected return is about −1.9. Never sending
 * earns 0. Sending every third slot earns about +2.6 (the best fixed spacing; exact values
 * from {@link notificationScheduleValue}, listed in docs/sims.md). The constants are a
 * modelling choice, not measured data, picked so the three policies are clearly apart.
 *
 * @example
 * const env = make('NotificationDelivery-v0');
 * const policy = notificationSpacingPolicy(3);
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(policy(observation)); // sends: nothing was sent before
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';
import { invalidActionError } from '../classic/validation.js';

const ENV_ID = 'NotificationDelivery-v0';

/** A kind of notification. */
export const NotificationTypeSchema = z.strictObject({
  /** Label used in `info.sent`. */
  name: z.string().min(1),
  /** Click probability of a rested user (no fatigue, long since the last send), before μ. */
  clickRate: z.number().min(0).max(1),
  /** Fatigue a send of this type adds (w_i). */
  fatigue: z.number().nonnegative(),
});

/** A notification type of {@link NotificationDeliveryOptionsSchema}. */
export type NotificationType = z.output<typeof NotificationTypeSchema>;

/** Options of `make('NotificationDelivery-v0', ...)`. Defaults are discussed in the module comment. */
export const NotificationDeliveryOptionsSchema = z
  .strictObject({
    /** Slots per episode. */
    horizon: z.number().int().min(1).max(100_000).default(60),
    /** Slots of delivery history in the observation. */
    window: z.number().int().min(1).max(256).default(7),
    /** Largest gap (slots since the last send) the observation distinguishes. */
    maxGap: z.number().int().min(1).max(10_000).default(14),
    /** The m notification types: the action space is Discrete(m + 1). */
    notificationTypes: z
      .array(NotificationTypeSchema)
      .min(1)
      .max(16)
      .default(() => [{ name: 'default', clickRate: 0.3, fatigue: 1 }]),
    /** δ: fatigue is multiplied by δ every slot. */
    fatigueDecay: z.number().min(0).lt(1).default(0.7),
    /** β: the click probability is scaled by exp(−β · fatigue). */
    fatigueClick: z.number().nonnegative().default(0.3),
    /** τ: the click probability is scaled by 1 − exp(−g / τ), g = slots since the last send. */
    recencyScale: z.number().nonnegative().default(1.5),
    /** u0: unsubscribe hazard of a send at zero fatigue. */
    unsubscribeBase: z.number().nonnegative().default(0.001),
    /** u1: unsubscribe hazard per unit of fatigue (counting the send itself). */
    unsubscribeFatigue: z.number().nonnegative().default(0.01),
    /** Cost of an unsubscribe, in clicks. */
    unsubscribeCost: z.number().nonnegative().default(5),
    /** Spread of the user's click multiplier μ ~ U[1 − s, 1 + s] within the group. */
    userSpread: z.number().min(0).lt(1).default(0.3),
  })
  .refine((o) => o.notificationTypes.every((t) => t.clickRate * (1 + o.userSpread) <= 1), {
    message: 'every clickRate · (1 + userSpread) must be at most 1 (a probability)',
    path: ['userSpread'],
  });

/** Options as a user writes them. */
export type NotificationDeliveryOptions = z.input<typeof NotificationDeliveryOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedNotificationDeliveryOptions = z.output<typeof NotificationDeliveryOptionsSchema>;

/** Validates options and fills defaults (throws a ValidationError naming the field). */
export function resolveNotificationDeliveryOptions(
  options: NotificationDeliveryOptions | ResolvedNotificationDeliveryOptions = {},
): ResolvedNotificationDeliveryOptions {
  return parseWith(NotificationDeliveryOptionsSchema, options, ENV_ID);
}

/** Click probability of a send of type `i` for an average user (μ = 1). */
function clickProbability(o: ResolvedNotificationDeliveryOptions, i: number, f: number, gap: number): number {
  const recency = gap === Infinity ? 1 : 1 - Math.exp(-gap / o.recencyScale);
  return o.notificationTypes[i].clickRate * recency * Math.exp(-o.fatigueClick * f);
}

/** Unsubscribe probability of a send of type `i` at fatigue `f`. */
function unsubscribeProbability(o: ResolvedNotificationDeliveryOptions, i: number, f: number): number {
  return 1 - Math.exp(-(o.unsubscribeBase + o.unsubscribeFatigue * (f + o.notificationTypes[i].fatigue)));
}

/** NotificationDelivery-v0; see the module comment. */
export class NotificationDelivery implements Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace: Discrete;
  spec?: EnvSpec = undefined;
  readonly options: ResolvedNotificationDeliveryOptions;
  private readonly m: number;
  /** Ring buffer of the last `window` slots: type sent + 1 (0 = none) and clicked. */
  private readonly sentRing: Int32Array;
  private readonly clickRing: Uint8Array;
  private head = 0;
  private t = 0;
  private fatigue = 0;
  private gap = Infinity;
  private multiplier = 1;
  private done = true;
  private rng: Rng | undefined = undefined;

  constructor(options: NotificationDeliveryOptions = {}) {
    this.options = resolveNotificationDeliveryOptions(options);
    const o = this.options;
    this.m = o.notificationTypes.length;
    this.sentRing = new Int32Array(o.window);
    this.clickRing = new Uint8Array(o.window);
    this.observationSpace = new Box(0, 1, [o.window * (this.m + 1) + 2]);
    this.actionSpace = new Discrete(this.m + 1);
  }

  /**
   * Starts a user with an empty history; μ is drawn from the group, or fixed by
   * `options.userMultiplier` (a number in [1 − userSpread, 1 + userSpread]).
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    const s = this.options.userSpread;
    const given = opts?.options?.userMultiplier;
    if (given !== undefined) {
      if (typeof given !== 'number' || !(given >= 1 - s && given <= 1 + s)) {
        throw new ValidationError('options.userMultiplier', `a number in [${1 - s}, ${1 + s}]`, given, `${ENV_ID} reset`);
      }
      this.multiplier = given;
    } else {
      this.multiplier = rng.uniform(1 - s, 1 + s);
    }
    this.sentRing.fill(0);
    this.clickRing.fill(0);
    this.head = 0;
    this.t = 0;
    this.fatigue = 0;
    this.gap = Infinity;
    this.done = false;
    return { observation: this.observe(), info: {} };
  }

  /** 0: send nothing; i + 1: send a notification of type i. */
  step(action: number): StepResult<Float32Array> {
    if (!this.actionSpace.contains(action)) throw invalidActionError(ENV_ID, action, this.actionSpace);
    if (this.done) throw new KairosError(`${ENV_ID}: step() after the episode ended; call reset()`, 'reset_needed');
    const o = this.options;
    const rng = this.rng!;
    let clicked = 0;
    let unsubscribed = 0;
    if (action > 0) {
      const i = action - 1;
      const pClick = this.multiplier * clickProbability(o, i, this.fatigue, this.gap);
      if (rng.random() < pClick) clicked = 1;
      if (rng.random() < unsubscribeProbability(o, i, this.fatigue)) unsubscribed = 1;
      this.fatigue = o.fatigueDecay * (this.fatigue + o.notificationTypes[i].fatigue);
      this.gap = 1;
    } else {
      this.fatigue *= o.fatigueDecay;
      this.gap += 1;
    }
    this.sentRing[this.head] = action;
    this.clickRing[this.head] = clicked;
    this.head = (this.head + 1) % o.window;
    this.t++;
    this.done = unsubscribed === 1 || this.t >= o.horizon;
    return {
      observation: this.observe(),
      reward: clicked - o.unsubscribeCost * unsubscribed,
      terminated: this.done,
      truncated: false,
      info: {
        rewardVector: { clicks: clicked, unsubscribes: 0 - unsubscribed },
        sent: action > 0 ? o.notificationTypes[action - 1].name : null,
        clicked: clicked === 1,
        unsubscribed: unsubscribed === 1,
      },
    };
  }

  private observe(): Float32Array {
    const o = this.options;
    const w = o.window;
    const stride = this.m + 1;
    const obs = new Float32Array(this.observationSpace.size);
    // Oldest slot first: the ring's head is the oldest entry.
    for (let k = 0; k < w; k++) {
      const j = (this.head + k) % w;
      const sent = this.sentRing[j];
      if (sent > 0) obs[k * stride + sent - 1] = 1;
      obs[k * stride + this.m] = this.clickRing[j];
    }
    obs[w * stride] = Math.min(this.gap, o.maxGap) / o.maxGap;
    obs[w * stride + 1] = this.t / o.horizon;
    return obs;
  }
}

/** Expected outcome of an open-loop send schedule (see {@link notificationScheduleValue}). */
export interface NotificationScheduleValue {
  /** Expected return. */
  readonly value: number;
  /** Expected number of clicks. */
  readonly clicks: number;
  /** Probability that the user unsubscribes within the horizon. */
  readonly unsubscribeProbability: number;
}

/**
 * The exact expected return of an open-loop schedule (`schedule(t)` is the action in slot t,
 * whatever happened before). Clicks do not change the state, so the fatigue and gap follow
 * the schedule deterministically until an unsubscribe; with P(alive at t) the product of
 * (1 − unsubscribe) over earlier sends and E[μ] = 1,
 *
 *   E[return] = Σ_t P(alive at t) · (E[click_t] − unsubscribeCost · P(unsubscribe_t)).
 *
 * "Never send", "always send" and every fixed spacing are such schedules.
 *
 * @example
 * notificationScheduleValue({}, (t) => (t % 3 === 0 ? 1 : 0)).value; // ≈ 2.59
 */
export function notificationScheduleValue(
  options: NotificationDeliveryOptions,
  schedule: (t: number) => number,
): NotificationScheduleValue {
  const o = resolveNotificationDeliveryOptions(options);
  const m = o.notificationTypes.length;
  let f = 0;
  let gap = Infinity;
  let alive = 1;
  let value = 0;
  let clicks = 0;
  for (let t = 0; t < o.horizon; t++) {
    const a = schedule(t);
    if (!Number.isInteger(a) || a < 0 || a > m) throw new ValidationError(`schedule(${t})`, `an action in [0, ${m}]`, a, 'notificationScheduleValue');
    if (a > 0) {
      const i = a - 1;
      const pc = clickProbability(o, i, f, gap);
      const pu = unsubscribeProbability(o, i, f);
      clicks += alive * pc;
      value += alive * (pc - o.unsubscribeCost * pu);
      alive *= 1 - pu;
      f = o.fatigueDecay * (f + o.notificationTypes[i].fatigue);
      gap = 1;
    } else {
      f *= o.fatigueDecay;
      gap += 1;
    }
  }
  return { value, clicks, unsubscribeProbability: 1 - alive };
}

/**
 * The fixed-spacing policy: send a notification of type `type` (default the first) when at
 * least `spacing` slots have passed since the last send (or nothing was sent yet), else
 * nothing. It reads the gap from the observation, so it needs the env's `window`, `maxGap`
 * and types (pass the same options as to `make`).
 *
 * @example
 * const policy = notificationSpacingPolicy(3);
 * policy(env.reset({ seed: 0 }).observation); // 1
 */
export function notificationSpacingPolicy(
  spacing: number,
  options: NotificationDeliveryOptions = {},
  type = 0,
): (obs: Float32Array) => number {
  const o = resolveNotificationDeliveryOptions(options);
  const m = o.notificationTypes.length;
  if (!Number.isInteger(spacing) || spacing < 1 || spacing > o.maxGap) {
    throw new ValidationError('spacing', `an integer in [1, ${o.maxGap}] (maxGap)`, spacing, 'notificationSpacingPolicy');
  }
  if (!Number.isInteger(type) || type < 0 || type >= m) throw new ValidationError('type', `a type index in [0, ${m - 1}]`, type, 'notificationSpacingPolicy');
  const gapIndex = o.window * (m + 1);
  return (obs) => (Math.round(obs[gapIndex] * o.maxGap) >= spacing ? type + 1 : 0);
}

/**
 * The best fixed spacing for `options` (type 0), found by exact evaluation of every spacing
 * in [1, maxGap] with {@link notificationScheduleValue}.
 *
 * @example
 * bestNotificationSpacing(); // { spacing: 3, value: ≈2.59 }
 */
export function bestNotificationSpacing(options: NotificationDeliveryOptions = {}): { spacing: number; value: number } {
  const o = resolveNotificationDeliveryOptions(options);
  let best = { spacing: 1, value: -Infinity };
  for (let s = 1; s <= o.maxGap; s++) {
    const { value } = notificationScheduleValue(o, (t) => (t % s === 0 ? 1 : 0));
    if (value > best.value) best = { spacing: s, value };
  }
  return best;
}

/** Registration of NotificationDelivery-v0 (`envs/builtin.ts` registers it). */
export const notificationDeliveryRegistration: EnvRegistration<ResolvedNotificationDeliveryOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new NotificationDelivery(opts),
  optionsSchema: NotificationDeliveryOptionsSchema as unknown as z.ZodType<ResolvedNotificationDeliveryOptions>,
  description: 'Notification delivery: send or not each slot; clicks fall with fatigue and recency, fatigue raises unsubscribes.',
};
