/**
 * What every simulator in src/envs/sims/ shares: registration and spaces, the env checker,
 * seeded determinism, option validation that names the field, and the baseline controllers
 * behind `kairos rollout <id> --policy heuristic`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import '../../../src/envs/builtin.js';
import { checkEnv } from '../../../src/envs/checker.js';
import type { Env, Info } from '../../../src/envs/env.js';
import { heuristicFor, heuristicIds } from '../../../src/envs/heuristics.js';
import { getRegistration, listEnvs, make } from '../../../src/envs/registry.js';
// The command behind `kairos rollout` (src/cli/main.ts parses the flags into these options).
import { rolloutCommand } from '../../../src/cli/rollout.js';

const IDS = ['AdsSupply-v0', 'NotificationDelivery-v0', 'StringGame-v0', 'GridWorld-v0', 'LQR-v0'] as const;

/** Option sets each env must pass the checker with (defaults first). */
const VARIANTS: Record<string, Record<string, unknown>[]> = {
  'AdsSupply-v0': [{}, { fatigueStep: 0.25 }, { positionDecay: 0.8, userTypes: [{ name: 'only', probability: 1, fatiguePerAd: 0.4 }] }],
  'NotificationDelivery-v0': [
    {},
    {
      notificationTypes: [
        { name: 'digest', clickRate: 0.2, fatigue: 0.5 },
        { name: 'promo', clickRate: 0.4, fatigue: 2 },
      ],
      window: 3,
    },
  ],
  'StringGame-v0': [{}, { observation: 'discrete' }, { alphabet: 'XYZ', patterns: { XY: 1, ZZ: -1 }, length: 5 }],
  'GridWorld-v0': [{}, { slip: 0.2, revisitPenalty: 1, observeVisited: true }, { layout: ['S.X', '..G'] }],
  'LQR-v0': [{}, { actionLimit: 1 }, { A: [[1.1]], B: [[1]], Q: [[1]], R: [[1]] }],
};

const SPACES: Record<string, { obs: string; act: string; limit: number | undefined }> = {
  'AdsSupply-v0': { obs: 'Box(0.0, 1.0, (5,), float32)', act: 'Discrete(6)', limit: undefined },
  'NotificationDelivery-v0': { obs: 'Box(0.0, 1.0, (16,), float32)', act: 'Discrete(2)', limit: undefined },
  'StringGame-v0': { obs: 'Box(0.0, 1.0, (2,), float32)', act: 'Discrete(2)', limit: undefined },
  'GridWorld-v0': { obs: 'Box(0.0, 1.0, (30,), float32)', act: 'Discrete(4)', limit: 100 },
  'LQR-v0': { obs: 'Box(-inf, inf, (2,), float32)', act: 'Box(-inf, inf, (1,), float32)', limit: 200 },
};

/** Plays `steps` seeded random actions (honouring masks) and records everything returned. */
function trajectory(env: Env<any, any>, seed: number, steps: number): unknown[] {
  const rng = new Rng(seed + 100);
  const out: unknown[] = [];
  let r: { observation: unknown; info: Info } = env.reset({ seed });
  out.push(r.observation);
  for (let t = 0; t < steps; t++) {
    const mask = r.info.actionMask;
    const a = mask ? (env.actionSpace as any).sample(rng, mask) : env.actionSpace.sample(rng);
    const s = env.step(a);
    out.push([s.observation, s.reward, s.terminated, s.truncated, s.info.rewardVector]);
    r = s.terminated || s.truncated ? env.reset() : s;
    if (s.terminated || s.truncated) out.push(r.observation);
  }
  return out;
}

describe('simulators: registry, spaces and the env checker', () => {
  it('registers every simulator with its spaces and time limit', () => {
    const ids = listEnvs().map((r) => r.id);
    for (const id of IDS) {
      expect(ids).toContain(id);
      const env = make(id);
      expect(String(env.observationSpace), id).toBe(SPACES[id].obs);
      expect(String(env.actionSpace), id).toBe(SPACES[id].act);
      expect(env.spec?.maxEpisodeSteps, id).toBe(SPACES[id].limit);
      expect(getRegistration(id).description, id).toBeTruthy();
    }
  });

  it.each(IDS)('%s passes checkEnv with each option set', (id) => {
    for (const opts of VARIANTS[id]) {
      const report = checkEnv(make(id, opts), { seed: 3 });
      expect(report.errors, `${id} ${JSON.stringify(opts)}`).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it.each(IDS)('%s: the same seed gives the same trajectory, including reward vectors', (id) => {
    for (const opts of VARIANTS[id]) {
      const a = trajectory(make(id, opts), 7, 60);
      const b = trajectory(make(id, opts), 7, 60);
      expect(b).toEqual(a);
    }
  });

  it('stochastic simulators give different trajectories for different seeds', () => {
    for (const id of ['AdsSupply-v0', 'NotificationDelivery-v0', 'LQR-v0']) {
      expect(trajectory(make(id), 1, 40), id).not.toEqual(trajectory(make(id), 2, 40));
    }
    expect(trajectory(make('GridWorld-v0', { slip: 0.3 }), 1, 40)).not.toEqual(trajectory(make('GridWorld-v0', { slip: 0.3 }), 2, 40));
  });

  it('reports named reward components that combine into the scalar reward', () => {
    const env = make<Float32Array, number>('AdsSupply-v0', { engagementWeight: 0.3 });
    env.reset({ seed: 0 });
    const r = env.step(2);
    const v = r.info.rewardVector!;
    expect(Object.keys(v).sort()).toEqual(['engagement', 'revenue']);
    expect(r.reward).toBeCloseTo(v.revenue + 0.3 * v.engagement, 12);
    const n = make<Float32Array, number>('NotificationDelivery-v0');
    n.reset({ seed: 0 });
    expect(Object.keys(n.step(1).info.rewardVector!).sort()).toEqual(['clicks', 'unsubscribes']);
  });
});

describe('simulators: option validation names the field', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['AdsSupply-v0', { maxAds: 11 }, /make AdsSupply-v0: maxAds: expected maxAds must be at most slotsPerPage, received 11/],
    ['AdsSupply-v0', { maxPages: 'ten' }, /maxPages: expected number, received "ten"/],
    ['AdsSupply-v0', { fatigueDecay: 1 }, /fatigueDecay: expected < 1, received 1/],
    ['AdsSupply-v0', { userTypes: [{ name: 'x', probability: -1, fatiguePerAd: 1 }] }, /userTypes\.0\.probability: expected > 0, received -1/],
    ['AdsSupply-v0', { maxAd: 3 }, /no unknown keys \(got maxAd\)/],
    ['NotificationDelivery-v0', { userSpread: 0.9, notificationTypes: [{ name: 'a', clickRate: 0.8, fatigue: 1 }] }, /userSpread: expected every clickRate/],
    ['NotificationDelivery-v0', { window: 0 }, /window: expected >= 1, received 0/],
    ['StringGame-v0', { patterns: { AB: 1, ABB: 2 } }, /patterns: expected all patterns must have the same length/],
    ['StringGame-v0', { alphabet: 'AA' }, /alphabet: expected alphabet characters must be distinct/],
    ['StringGame-v0', { observation: 'image' }, /observation: expected one of "one-hot", "discrete"/],
    ['GridWorld-v0', { layout: ['S..', '.G'] }, /layout: expected all layout rows must have the same length/],
    ['GridWorld-v0', { layout: ['S.?G'] }, /layout: expected layout may only contain/],
    ['GridWorld-v0', { slip: 2 }, /slip: expected <= 1, received 2/],
    ['LQR-v0', { R: [[-1]] }, /R: expected R must be m × m, symmetric and positive definite/],
    ['LQR-v0', { B: [[1]] }, /B: expected B must be n × m/],
    ['LQR-v0', { noiseStd: -0.1 }, /noiseStd: expected >= 0, received -0.1/],
  ];
  it.each(cases)('%s %j', (id, opts, message) => {
    expect(() => make(id, opts)).toThrow(ValidationError);
    expect(() => make(id, opts)).toThrow(message);
  });

  it('reset options are validated too', () => {
    expect(() => make('AdsSupply-v0').reset({ options: { userType: 'unknown' } })).toThrow(/options\.userType: expected a type index in \[0, 2\] or one of "averse", "neutral", "tolerant"/);
    expect(() => make('NotificationDelivery-v0').reset({ options: { userMultiplier: 3 } })).toThrow(/options\.userMultiplier: expected a number in \[0\.7, 1\.3\]/);
  });

  it('an unstabilisable LQR system is rejected when the env is built', () => {
    expect(() => make('LQR-v0', { A: [[2]], B: [[0]], Q: [[1]], R: [[1]] })).toThrow(/Riccati iteration did not converge/);
  });
});

describe('simulators: baseline controllers', () => {
  afterEach(() => vi.restoreAllMocks());

  it('heuristicFor serves the simulators (StringGame has none: it needs memory)', () => {
    expect(heuristicIds()).toEqual(expect.arrayContaining(['AdsSupply-v0', 'NotificationDelivery-v0', 'GridWorld-v0', 'LQR-v0']));
    expect(heuristicFor('StringGame-v0')).toBeUndefined();
    for (const id of ['AdsSupply-v0', 'NotificationDelivery-v0', 'GridWorld-v0', 'LQR-v0']) {
      const env = make(id);
      const h = heuristicFor(id, {})!;
      expect(env.actionSpace.contains(h(env.reset({ seed: 0 }).observation as Float32Array)), id).toBe(true);
    }
    // Built from the make options: a single-type ads env has a 3-entry observation.
    const h = heuristicFor('AdsSupply-v0', { maxAds: 3, userTypes: [{ name: 'u', probability: 1, fatiguePerAd: 1 }] })!;
    expect(h(Float32Array.of(0, 0, 1))).toBe(3);
  });

  it('kairos rollout <id> --policy heuristic runs on every simulator with one', () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const id of ['AdsSupply-v0', 'NotificationDelivery-v0', 'GridWorld-v0', 'LQR-v0']) {
      expect(rolloutCommand(id, { policy: 'heuristic', episodes: 3, seed: 1, json: true }), id).toBe(0);
      const row = JSON.parse(out.pop()!);
      expect(row).toMatchObject({ env: id, policy: 'heuristic' });
    }
    // GridWorld's shortest-path controller reaches G in 9 steps: return −9 every time.
    expect(rolloutCommand('GridWorld-v0', { policy: 'heuristic', episodes: 2, seed: 0, json: true })).toBe(0);
    expect(JSON.parse(out.pop()!).returns).toEqual([-9, -9]);
  });
});
