/**
 * NotificationDelivery-v0: hand-computed slot outcomes, the exact values of open-loop
 * schedules against Monte-Carlo simulation, and the defaults' promise that a spacing policy
 * clearly beats both "always send" and "never send".
 */
import { describe, expect, it } from 'vitest';
import { make, register } from '../../../src/envs/registry.js';
import { simRegistrations } from '../../../src/envs/sims/index.js';
import {
  NotificationDelivery,
  bestNotificationSpacing,
  notificationScheduleValue,
  notificationSpacingPolicy,
} from '../../../src/envs/sims/notification-delivery.js';

// Only the simulators: importing every built-in env (Box2D included) would slow the test down.
for (const reg of simRegistrations) register(reg);

function simulate(policy: (obs: Float32Array) => number, episodes: number, seed: number, options: Record<string, unknown> = {}) {
  const env = make<Float32Array, number>('NotificationDelivery-v0', options);
  let sum = 0;
  let sumSq = 0;
  let unsubscribed = 0;
  for (let ep = 0; ep < episodes; ep++) {
    let { observation } = env.reset({ seed: seed + ep });
    let ret = 0;
    for (;;) {
      const r = env.step(policy(observation));
      ret += r.reward;
      observation = r.observation;
      if (r.info.unsubscribed) {
        unsubscribed++;
        expect(r.terminated).toBe(true);
        expect(r.info.rewardVector!.unsubscribes).toBe(-1);
        expect(r.reward).toBe(r.info.rewardVector!.clicks - 5);
      }
      if (r.terminated || r.truncated) break;
    }
    sum += ret;
    sumSq += ret * ret;
  }
  const mean = sum / episodes;
  return { mean, se: Math.sqrt((sumSq / episodes - mean * mean) / episodes), unsubscribeRate: unsubscribed / episodes };
}

const always = () => 1;
const never = () => 0;

describe('NotificationDelivery-v0', () => {
  it('exact schedule values match hand computation on short horizons', () => {
    // One send to a rested user: click 0.3, unsubscribe 1 − e^(−(0.001 + 0.01 · 1)).
    const u1 = 1 - Math.exp(-0.011);
    expect(notificationScheduleValue({ horizon: 1 }, always).value).toBeCloseTo(0.3 - 5 * u1, 14);
    // A second send one slot later: fatigue 0.7, recency 1 − e^(−1/1.5), hazard 0.001 + 0.01 · 1.7.
    const click2 = 0.3 * (1 - Math.exp(-1 / 1.5)) * Math.exp(-0.3 * 0.7);
    const u2 = 1 - Math.exp(-(0.001 + 0.01 * 1.7));
    const two = notificationScheduleValue({ horizon: 2 }, always);
    expect(two.value).toBeCloseTo(0.3 - 5 * u1 + (1 - u1) * (click2 - 5 * u2), 14);
    expect(two.unsubscribeProbability).toBeCloseTo(1 - (1 - u1) * (1 - u2), 14);
  });

  it('a fixed spacing clearly beats both always and never sending (exact values)', () => {
    const best = bestNotificationSpacing();
    const alwaysValue = notificationScheduleValue({}, always).value;
    const neverValue = notificationScheduleValue({}, never).value;
    expect(best.spacing).toBe(3);
    expect(best.value).toBeCloseTo(2.587, 3);
    expect(alwaysValue).toBeCloseTo(-1.947, 3);
    expect(neverValue).toBe(0);
    expect(best.value - Math.max(alwaysValue, neverValue)).toBeGreaterThan(2);
  });

  it('Monte-Carlo returns of the env match the exact schedule values', () => {
    const n = 3000;
    const spaced = simulate(notificationSpacingPolicy(3), n, 1000);
    const greedy = simulate(always, n, 2000);
    const silent = simulate(never, 200, 3000);
    expect(Math.abs(spaced.mean - notificationScheduleValue({}, (t) => (t % 3 === 0 ? 1 : 0)).value)).toBeLessThan(4 * spaced.se);
    expect(Math.abs(greedy.mean - notificationScheduleValue({}, always).value)).toBeLessThan(4 * greedy.se);
    expect(silent.mean).toBe(0);
    // Always sending loses most users; spacing keeps most.
    expect(greedy.unsubscribeRate).toBeCloseTo(0.862, 1);
    expect(spaced.unsubscribeRate).toBeLessThan(0.35);
    // The spacing policy beats both in simulation too, by many standard errors.
    expect(spaced.mean - greedy.mean).toBeGreaterThan(10 * (spaced.se + greedy.se));
    expect(spaced.mean).toBeGreaterThan(10 * spaced.se);
  });

  it('observes the delivery history window, the gap and the time', () => {
    const env = new NotificationDelivery({ window: 3, maxGap: 4, horizon: 10 });
    const { observation } = env.reset({ seed: 0, options: { userMultiplier: 1 } });
    // [sent, clicked] × 3 slots, gap (capped: never sent = 1), t / horizon.
    expect(Array.from(observation)).toEqual([0, 0, 0, 0, 0, 0, 1, 0]);
    const r1 = env.step(1);
    const c = r1.info.clicked ? 1 : 0;
    expect(Array.from(r1.observation)).toEqual([0, 0, 0, 0, 1, c, 0.25, Math.fround(0.1)]);
    const r2 = env.step(0);
    expect(Array.from(r2.observation)).toEqual([0, 0, 1, c, 0, 0, 0.5, Math.fround(0.2)]);
    expect(r2.reward).toBe(0);
    expect(r2.info.sent).toBeNull();
  });

  it('with several types the action picks the type and the history shows it', () => {
    const types = [
      { name: 'digest', clickRate: 0.2, fatigue: 0.5 },
      { name: 'promo', clickRate: 0.4, fatigue: 2 },
    ];
    const env = new NotificationDelivery({ notificationTypes: types, window: 2 });
    expect(String(env.actionSpace)).toBe('Discrete(3)');
    env.reset({ seed: 1 });
    const r = env.step(2);
    expect(r.info.sent).toBe('promo');
    expect(Array.from(r.observation.subarray(3, 5))).toEqual([0, 1]);
    // Exact schedule values per type: the promo type tires users four times faster.
    const digestOnly = notificationScheduleValue({ notificationTypes: types }, (t) => (t % 2 === 0 ? 1 : 0));
    const promoOnly = notificationScheduleValue({ notificationTypes: types }, (t) => (t % 2 === 0 ? 2 : 0));
    expect(promoOnly.unsubscribeProbability).toBeGreaterThan(digestOnly.unsubscribeProbability);
  });

  it('the spacing policy reads the gap from the observation', () => {
    const policy = notificationSpacingPolicy(3);
    const env = make<Float32Array, number>('NotificationDelivery-v0');
    let { observation } = env.reset({ seed: 4 });
    const sends: number[] = [];
    for (let t = 0; t < 10; t++) {
      const a = policy(observation);
      if (a > 0) sends.push(t);
      const r = env.step(a);
      observation = r.observation;
      if (r.terminated) break;
    }
    expect(sends.slice(0, 3)).toEqual([0, 3, 6]);
    expect(() => notificationSpacingPolicy(20)).toThrow(/spacing: expected an integer in \[1, 14\]/);
  });
});
