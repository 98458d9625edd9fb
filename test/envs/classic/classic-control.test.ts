/**
 * Spaces, registrations, options, seeding, setState and action validation of the
 * classic-control envs. Dynamics against Gymnasium are in reference.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KairosError, ValidationError } from '../../../src/core/errors.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import '../../../src/envs/builtin.js';
import type { Env, StatefulEnv } from '../../../src/envs/env.js';
import { getRegistration, make } from '../../../src/envs/registry.js';
import {
  Acrobot,
  CartPole,
  MountainCar,
  MountainCarContinuous,
  Pendulum,
  classicControlRegistrations,
  classicHeuristics,
  normalizeAngle,
} from '../../../src/envs/classic/index.js';

type AnyEnv = Env<Float32Array, any> & StatefulEnv<Float64Array>;

const IDS = ['CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Acrobot-v1', 'Pendulum-v1'] as const;
const STATE_SIZE: Record<string, number> = {
  'CartPole-v1': 4,
  'MountainCar-v0': 2,
  'MountainCarContinuous-v0': 2,
  'Acrobot-v1': 4,
  'Pendulum-v1': 2,
};

function raw(id: string, opts: Record<string, unknown> = {}): AnyEnv {
  return make(id, { ...opts, maxEpisodeSteps: null, disableOrderEnforcing: true }) as unknown as AnyEnv;
}

/** A fixed, valid action for each env (1 = "no push" in the discrete envs except CartPole). */
function someAction(id: string, i: number): number | Float32Array {
  if (id === 'CartPole-v1') return i % 3 === 0 ? 0 : 1;
  if (id === 'MountainCar-v0' || id === 'Acrobot-v1') return i % 3;
  return Float32Array.of(Math.sin(i));
}

function rollout(env: AnyEnv, seed: number | undefined, steps: number): number[] {
  const out: number[] = [];
  const { observation } = env.reset(seed === undefined ? {} : { seed });
  out.push(...observation);
  for (let i = 0; i < steps; i++) {
    const r = env.step(someAction(env.spec!.id, i));
    out.push(...r.observation, r.reward);
    if (r.terminated) break;
  }
  return out;
}

describe('spaces match Gymnasium', () => {
  it('CartPole-v1', () => {
    const env = new CartPole();
    expect(env.actionSpace).toBeInstanceOf(Discrete);
    expect(String(env.actionSpace)).toBe('Discrete(2)');
    const high = Math.fround((12 * 2 * Math.PI) / 360 * 2);
    expect(Array.from(env.observationSpace.high)).toEqual([Math.fround(4.8), Infinity, high, Infinity]);
    expect(Array.from(env.observationSpace.low)).toEqual([-Math.fround(4.8), -Infinity, -high, -Infinity]);
    expect(env.observationSpace.dtype).toBe('float32');
  });

  it('MountainCar-v0 and MountainCarContinuous-v0', () => {
    for (const env of [new MountainCar(), new MountainCarContinuous()]) {
      expect(Array.from(env.observationSpace.low)).toEqual([Math.fround(-1.2), Math.fround(-0.07)]);
      expect(Array.from(env.observationSpace.high)).toEqual([Math.fround(0.6), Math.fround(0.07)]);
    }
    expect(String(new MountainCar().actionSpace)).toBe('Discrete(3)');
    expect(String(new MountainCarContinuous().actionSpace)).toBe('Box(-1.0, 1.0, (1,), float32)');
  });

  it('Acrobot-v1 observes cos/sin of both angles and the two velocities', () => {
    const env = new Acrobot();
    expect(String(env.actionSpace)).toBe('Discrete(3)');
    expect(Array.from(env.observationSpace.high)).toEqual([1, 1, 1, 1, Math.fround(4 * Math.PI), Math.fround(9 * Math.PI)]);
    env.reset({ seed: 0 });
    env.setState([0.3, -1.2, 0.5, -0.25]);
    const { observation } = env.step(1);
    const s = env.getState();
    expect(Array.from(observation)).toEqual(
      Array.from(Float32Array.of(Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3])),
    );
  });

  it('Pendulum-v1', () => {
    const env = new Pendulum();
    expect(String(env.actionSpace)).toBe('Box(-2.0, 2.0, (1,), float32)');
    expect(Array.from(env.observationSpace.high)).toEqual([1, 1, 8]);
  });

  it.each(IDS)('%s: reset and step observations lie in the observation space and are fresh Float32Arrays', (id) => {
    const env = raw(id);
    const seen = new Set<Float32Array>();
    let { observation } = env.reset({ seed: 3 });
    for (let i = 0; i < 50; i++) {
      expect(observation).toBeInstanceOf(Float32Array);
      expect(env.observationSpace.explain(observation)).toBeNull();
      expect(seen.has(observation)).toBe(false);
      seen.add(observation);
      const before = env.getState();
      observation.fill(123); // the caller owns it: scribbling on it must not touch the env
      expect(env.getState()).toEqual(before);
      const r = env.step(someAction(id, i));
      observation = r.observation;
      if (r.terminated) break;
    }
  });
});

describe('registrations and make() defaults', () => {
  const expected: Record<string, { steps: number; threshold: number | undefined }> = {
    'CartPole-v1': { steps: 500, threshold: 475 },
    'MountainCar-v0': { steps: 200, threshold: -110 },
    'MountainCarContinuous-v0': { steps: 999, threshold: 90 },
    'Acrobot-v1': { steps: 500, threshold: -100 },
    'Pendulum-v1': { steps: 200, threshold: undefined },
  };

  it('registers exactly the five envs, each with a description', () => {
    expect(classicControlRegistrations.map((r) => r.id).sort()).toEqual([...IDS].sort());
    for (const r of classicControlRegistrations) expect(r.description).toMatch(/\S/);
  });

  it.each(IDS)('%s: time limit and reward threshold', (id) => {
    const reg = getRegistration(id);
    expect(reg.maxEpisodeSteps).toBe(expected[id].steps);
    expect(reg.rewardThreshold).toBe(expected[id].threshold);
    const env = make(id);
    expect(env.spec?.maxEpisodeSteps).toBe(expected[id].steps);
    expect(env.spec?.rewardThreshold).toBe(expected[id].threshold);
  });

  it('fills default options', () => {
    expect(make('CartPole-v1').spec?.kwargs).toEqual({ suttonBartoReward: false, kinematicsIntegrator: 'euler' });
    expect(make('MountainCar-v0').spec?.kwargs).toEqual({ goalVelocity: 0 });
    expect(make('MountainCarContinuous-v0').spec?.kwargs).toEqual({ goalVelocity: 0 });
    expect(make('Acrobot-v1').spec?.kwargs).toEqual({ bookOrNips: 'book' });
    expect(make('Pendulum-v1').spec?.kwargs).toEqual({ g: 10 });
    expect((make('Pendulum-v1').unwrapped as Pendulum).g).toBe(10);
    expect((make('Pendulum-v1', { g: 9.81 }).unwrapped as Pendulum).g).toBe(9.81);
  });

  // Policies that never terminate, so the time limit is what ends the episode.
  const neverEnding: Record<string, (obs: Float32Array) => number | Float32Array> = {
    'CartPole-v1': classicHeuristics['CartPole-v1'],
    'MountainCar-v0': () => 1,
    'MountainCarContinuous-v0': () => Float32Array.of(0),
    'Acrobot-v1': () => 1,
    'Pendulum-v1': () => Float32Array.of(0),
  };

  it.each(IDS)('%s: truncates exactly at the registered limit', (id) => {
    const env = make<Float32Array, any>(id);
    let { observation } = env.reset({ seed: 0 });
    const limit = expected[id].steps;
    for (let t = 1; t <= limit; t++) {
      const r = env.step(neverEnding[id](observation));
      expect(r.terminated, `${id} terminated at step ${t}`).toBe(false);
      expect(r.truncated, `${id} truncated flag at step ${t}`).toBe(t === limit);
      observation = r.observation;
    }
  });

  it('make() refuses to step a terminated episode before reset', () => {
    const env = make<Float32Array, number>('CartPole-v1');
    expect(() => env.step(0)).toThrow(/reset/);
    env.reset({ seed: 0 });
    let r = env.step(1);
    while (!r.terminated) r = env.step(1);
    expect(() => env.step(1)).toThrow(/reset/);
  });

  it('rejects badly typed and unknown options with a ValidationError naming the option', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['Pendulum-v1', { g: 'x' }, 'g'],
      ['CartPole-v1', { suttonBartoReward: 1 }, 'suttonBartoReward'],
      ['CartPole-v1', { kinematicsIntegrator: 'rk4' }, 'kinematicsIntegrator'],
      ['Acrobot-v1', { bookOrNips: 'paper' }, 'bookOrNips'],
      ['MountainCar-v0', { goalVelocity: null }, 'goalVelocity'],
    ];
    for (const [id, opts, path] of cases) {
      let err: unknown;
      try {
        make(id, opts);
      } catch (e) {
        err = e;
      }
      expect(err, `${id} ${JSON.stringify(opts)}`).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).path).toBe(path);
      expect((err as Error).message).toContain(path);
    }
    expect(() => make('CartPole-v1', { sutton_barto_reward: true })).toThrow(/sutton_barto_reward/);
    // Constructing directly (without make's schema) checks the same things.
    expect(() => new CartPole({ kinematicsIntegrator: 'rk4' as never })).toThrow(ValidationError);
    expect(() => new Acrobot({ bookOrNips: 'paper' as never })).toThrow(/bookOrNips/);
    expect(() => new Pendulum({ g: Number.NaN })).toThrow(/Pendulum-v1: g/);
    expect(() => new MountainCar({ goalVelocity: '0' as never })).toThrow(/goalVelocity/);
    expect(() => make('Pendulum-v1', { gravity: 9.8 })).toThrow(ValidationError);
  });
});

describe('seeding', () => {
  it.each(IDS)('%s: the same seed gives the same reset observation and trajectory', (id) => {
    expect(rollout(raw(id), 42, 100)).toEqual(rollout(raw(id), 42, 100));
    const env = raw(id);
    const first = rollout(env, 7, 30);
    rollout(env, 8, 30);
    expect(rollout(env, 7, 30)).toEqual(first); // re-seeding restarts the stream
  });

  it.each(IDS)('%s: different seeds, and unseeded resets, give different initial states', (id) => {
    const a = raw(id);
    const b = raw(id);
    expect(a.reset({ seed: 1 }).observation).not.toEqual(b.reset({ seed: 2 }).observation);
    const first = a.getState();
    a.reset(); // continues the seeded stream
    expect(a.getState()).not.toEqual(first);
  });

  it('reset draws from Gymnasium’s ranges and honours options.low/high', () => {
    for (let seed = 0; seed < 50; seed++) {
      const cp = new CartPole();
      cp.reset({ seed });
      for (const v of cp.getState()) expect(Math.abs(v)).toBeLessThan(0.05);
      cp.reset({ seed, options: { low: 0.1, high: 0.2 } });
      for (const v of cp.getState()) expect(v >= 0.1 && v < 0.2).toBe(true);

      const mc = new MountainCar();
      mc.reset({ seed });
      const [p, v] = mc.getState();
      expect(p >= -0.6 && p < -0.4 && v === 0).toBe(true);
      const mcc = new MountainCarContinuous();
      mcc.reset({ seed, options: { low: -0.7, high: -0.5 } });
      expect(mcc.getState()[0] >= -0.7 && mcc.getState()[0] < -0.5).toBe(true);

      const ac = new Acrobot();
      ac.reset({ seed });
      for (const x of ac.getState()) {
        expect(Math.abs(x)).toBeLessThanOrEqual(0.1);
        expect(Math.fround(x)).toBe(x); // Gymnasium casts the initial state to float32
      }

      const pe = new Pendulum();
      pe.reset({ seed });
      const [th, thDot] = pe.getState();
      expect(Math.abs(th) <= Math.PI && Math.abs(thDot) <= 1).toBe(true);
      pe.reset({ seed, options: { x_init: 0.1, y_init: 0.2 } });
      expect(Math.abs(pe.getState()[0]) <= 0.1 && Math.abs(pe.getState()[1]) <= 0.2).toBe(true);
    }
  });

  it('rejects bad reset options', () => {
    expect(() => new CartPole().reset({ seed: 0, options: { low: 0.2, high: 0.1 } })).toThrow(/CartPole-v1 reset: options.low/);
    expect(() => new Acrobot().reset({ seed: 0, options: { high: 'a' } })).toThrow(ValidationError);
    expect(() => new Pendulum().reset({ seed: 0, options: { x_init: Number.NaN } })).toThrow(/x_init/);
    expect(() => new MountainCar().reset({ seed: -1 })).toThrow(KairosError);
  });
});

describe('setState', () => {
  it.each(IDS)('%s: round-trips any finite state', (id) => {
    const env = raw(id);
    env.reset({ seed: 0 });
    const n = STATE_SIZE[id];
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }), { minLength: n, maxLength: n }), (s) => {
        env.setState(s);
        expect(Array.from(env.getState())).toEqual(s.map((v) => (Object.is(v, -0) ? -0 : v)));
        const copy = env.getState();
        copy[0] = 99; // getState returns a copy
        expect(env.getState()[0]).not.toBe(99);
      }),
      { numRuns: 50 },
    );
  });

  it.each(IDS)('%s: rejects bad input with a clear message and leaves the state alone', (id) => {
    const env = raw(id);
    env.reset({ seed: 0 });
    const n = STATE_SIZE[id];
    const bad = fc.oneof(
      fc.array(fc.double(), { minLength: 0, maxLength: 8 }).filter((a) => a.length !== n),
      fc
        .tuple(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }), fc.nat(n - 1), fc.constantFrom(Number.NaN, Infinity, -Infinity, '1', null))
        .map(([a, i, v]) => {
          const out: unknown[] = [...a];
          out[i] = v;
          return out;
        }),
      fc.constantFrom<unknown>(undefined, null, 3, 'state', { 0: 1, length: n }),
    );
    fc.assert(
      fc.property(bad, (state) => {
        const before = env.getState();
        let err: unknown;
        try {
          env.setState(state as number[]);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toMatch(new RegExp(`^${id} setState: state`));
        expect((err as Error).message).toContain('finite number');
        expect(env.getState()).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });

  it('names the bad entry', () => {
    expect(() => new CartPole().setState([0, 0, Number.NaN, 0])).toThrow('CartPole-v1 setState: state[2]: expected a finite number (theta), received NaN');
    expect(() => new Acrobot().setState([0, 0, 0])).toThrow(/expected 4 finite numbers \[theta1, theta2, dtheta1, dtheta2\]/);
  });
});

describe('actions', () => {
  const invalid: Record<string, unknown[]> = {
    'CartPole-v1': [2, -1, 0.5, '1', true, null, undefined, [1], Number.NaN],
    'MountainCar-v0': [3, -1, 1.5, '0', null, [2]],
    'Acrobot-v1': [3, -1, 0.1, 'a', {}],
    'MountainCarContinuous-v0': [[Number.NaN], [Infinity], [0, 0], [], 'x', null, Float32Array.of(Number.NaN), { 0: 1 }],
    'Pendulum-v1': [[Number.NaN], [-Infinity], [1, 1], new Float32Array(2), '1', undefined],
  };

  it.each(IDS)('%s: invalid actions throw a KairosError naming the env, the value and the space', (id) => {
    const env = raw(id);
    env.reset({ seed: 0 });
    const space = String(env.actionSpace);
    for (const a of invalid[id]) {
      const before = env.getState();
      let err: unknown;
      try {
        env.step(a);
      } catch (e) {
        err = e;
      }
      expect(err, `${id} accepted ${String(a)}`).toBeInstanceOf(KairosError);
      const msg = (err as Error).message;
      expect(msg).toContain(id);
      expect(msg).toContain(space);
      expect(msg).toContain('invalid action');
      expect((err as KairosError).code).toBe('invalid_action');
      expect(env.getState()).toEqual(before);
    }
  });

  it('shows the received value', () => {
    expect(() => new CartPole().step(2)).toThrow('CartPole-v1: invalid action 2: expected an integer in [0, 1], received 2; the action space is Discrete(2)');
    expect(() => new Pendulum().step([Number.NaN])).toThrow(/invalid action \[NaN\]/);
  });

  it('MountainCarContinuous clips the force but charges the unclipped action', () => {
    const a = new MountainCarContinuous();
    const b = new MountainCarContinuous();
    a.setState([-0.5, 0.01]);
    b.setState([-0.5, 0.01]);
    const ra = a.step([5]);
    const rb = b.step(Float32Array.of(1));
    expect(ra.observation).toEqual(rb.observation);
    expect(ra.reward).toBeCloseTo(-0.1 * 25, 12);
    expect(rb.reward).toBeCloseTo(-0.1, 12);
    expect(a.step(-3).observation).toEqual(b.step([-1]).observation); // bare numbers are accepted
  });

  it('Pendulum clips the torque, in the dynamics and the cost', () => {
    const a = new Pendulum();
    const b = new Pendulum();
    a.setState([1, 0.5]);
    b.setState([1, 0.5]);
    const ra = a.step([-7]);
    const rb = b.step([-2]);
    expect(ra).toEqual(rb);
    // Hand-computed from Gymnasium's equations: g = 10, m = l = 1, dt = 0.05.
    const thDot = 0.5 + (15 * Math.sin(1) + 3 * -2) * 0.05;
    expect(Array.from(a.getState())).toEqual([1 + thDot * 0.05, thDot]);
    expect(ra.reward).toBeCloseTo(-(1 + 0.1 * 0.25 + 0.001 * 4), 12);
  });
});

describe('dynamics details', () => {
  // One step from rest with action 1, by hand from Barto et al. (1983) / Florian (2007).
  const temp = 10 / 1.1;
  const thetaAcc = (0 - temp) / (0.5 * (4 / 3 - 0.1 / 1.1));
  const xAcc = temp - (0.05 * thetaAcc) / 1.1;

  it('CartPole euler integrator (default) moves positions with the old velocities', () => {
    const env = new CartPole();
    env.setState([0, 0, 0, 0]);
    env.step(1);
    const s = env.getState();
    expect(s[0]).toBe(0);
    expect(s[1]).toBeCloseTo(0.02 * xAcc, 14);
    expect(s[2]).toBe(0);
    expect(s[3]).toBeCloseTo(0.02 * thetaAcc, 14);
  });

  it('CartPole semi-implicit euler moves positions with the new velocities', () => {
    const env = make('CartPole-v1', { kinematicsIntegrator: 'semi-implicit-euler' }).unwrapped as CartPole;
    env.setState([0, 0, 0, 0]);
    env.step(1);
    const s = env.getState();
    expect(s[0]).toBeCloseTo(0.02 * 0.02 * xAcc, 14);
    expect(s[2]).toBeCloseTo(0.02 * 0.02 * thetaAcc, 14);
  });

  it('CartPole rewards: +1 including the terminal step, 0 after it; Sutton-Barto 0 / -1 / -1', () => {
    for (const [sb, alive, terminal, after] of [
      [false, 1, 1, 0],
      [true, 0, -1, -1],
    ] as const) {
      const env = new CartPole({ suttonBartoReward: sb });
      env.reset({ seed: 0 });
      env.setState([0, 0, 0.2, 0]); // just inside 12 degrees, falling right
      const first = env.step(1);
      expect(first.terminated).toBe(false);
      expect(first.reward).toBe(alive);
      expect(env.stepsBeyondTerminated).toBeNull();
      let r = first;
      while (!r.terminated) r = env.step(1);
      expect(r.reward).toBe(terminal);
      expect(env.stepsBeyondTerminated).toBe(0);
      r = env.step(1);
      expect(r.terminated).toBe(true);
      expect(r.reward).toBe(after);
      expect(env.stepsBeyondTerminated).toBe(1);
      env.reset({ seed: 1 });
      expect(env.stepsBeyondTerminated).toBeNull();
    }
  });

  it('MountainCar stops dead at the left wall and ends at the flag', () => {
    const env = new MountainCar();
    env.setState([-1.19, -0.05]);
    env.step(0);
    expect(Array.from(env.getState())).toEqual([-1.2, 0]);
    env.setState([0.49, 0.02]);
    const r = env.step(1);
    expect(r.terminated).toBe(true);
    expect(r.reward).toBe(-1);
    const slow = new MountainCar({ goalVelocity: 0.05 });
    slow.setState([0.49, 0.02]);
    expect(slow.step(1).terminated).toBe(false);
  });

  it('MountainCarContinuous pays +100 on reaching the goal', () => {
    const env = new MountainCarContinuous();
    env.setState([0.44, 0.02]);
    const r = env.step([0.5]);
    expect(r.terminated).toBe(true);
    expect(r.reward).toBeCloseTo(100 - 0.025, 12);
  });

  it('Acrobot nips dynamics are selectable and differ from the book dynamics', () => {
    const book = new Acrobot();
    const nips = make('Acrobot-v1', { bookOrNips: 'nips' }).unwrapped as Acrobot;
    expect(book.bookOrNips).toBe('book');
    expect(nips.bookOrNips).toBe('nips');
    // Hanging at rest is an equilibrium of both (up to cos(-pi/2) = 6e-17, as in Gymnasium).
    book.setState([0, 0, 0, 0]);
    nips.setState([0, 0, 0, 0]);
    for (const env of [book, nips]) {
      const obs = env.step(1).observation;
      [1, 0, 1, 0, 0, 0].forEach((v, i) => expect(obs[i]).toBeCloseTo(v, 12));
    }
    // They differ by m2 l1 lc2 dtheta1^2 sin(theta2) in the elbow acceleration.
    book.setState([0.5, 1, 2, 0.3]);
    nips.setState([0.5, 1, 2, 0.3]);
    expect(book.step(2).observation).not.toEqual(nips.step(2).observation);
  });

  it('Acrobot wraps angles into [-pi, pi] and bounds velocities', () => {
    const env = new Acrobot();
    env.setState([Math.PI - 0.01, -Math.PI + 0.01, 30, -100]);
    env.step(1);
    const s = env.getState();
    expect(Math.abs(s[0])).toBeLessThanOrEqual(Math.PI);
    expect(Math.abs(s[1])).toBeLessThanOrEqual(Math.PI);
    expect(Math.abs(s[2])).toBeLessThanOrEqual(4 * Math.PI);
    expect(Math.abs(s[3])).toBeLessThanOrEqual(9 * Math.PI);
  });

  it('normalizeAngle follows Python’s floored modulo', () => {
    expect(normalizeAngle(0)).toBe(0);
    expect(normalizeAngle((3 * Math.PI) / 2)).toBeCloseTo(-Math.PI / 2, 14);
    expect(normalizeAngle((-3 * Math.PI) / 2)).toBeCloseTo(Math.PI / 2, 14);
    expect(normalizeAngle(-Math.PI)).toBe(-Math.PI);
    expect(normalizeAngle(7 * Math.PI)).toBeCloseTo(-Math.PI, 12);
  });
});
