/**
 * LunarLander-v3 on planck: spaces, options, seeding, action validation, the
 * observation scaling and reward recomputed by hand from the physical state, crash and
 * landing terminations, and the known score ranges of the heuristic and of random play
 * (Gymnasium: the heuristic averages above 200, random play about -150 to -250).
 */
import fc from 'fast-check';
import { RevoluteJoint } from 'planck';
import type { Joint, RevoluteJointDef } from 'planck';
import { describe, expect, it } from 'vitest';
import { KairosError, ValidationError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { Box, Discrete } from '../../../src/core/spaces.js';
import '../../../src/envs/builtin.js';
import {
  LunarLander,
  box2dHeuristics,
  box2dRegistrations,
  lunarLanderHeuristic,
  type LunarLanderAction,
} from '../../../src/envs/box2d/index.js';
import type { Env } from '../../../src/envs/env.js';
import { heuristicFor } from '../../../src/envs/heuristics.js';
import { getRegistration, make } from '../../../src/envs/registry.js';

// Gymnasium's constants, restated here so the checks do not read them from the code under test.
const SCALE = 30;
const FPS = 50;
const W = 600 / SCALE;
const H = 400 / SCALE;
const LEG_DOWN = 18;

type LanderEnv = Env<Float32Array, LunarLanderAction>;

/** Gymnasium's shaping potential of an (unrounded) state. */
function shaping(s: ArrayLike<number>): number {
  return (
    -100 * Math.sqrt(s[0] * s[0] + s[1] * s[1]) -
    100 * Math.sqrt(s[2] * s[2] + s[3] * s[3]) -
    100 * Math.abs(s[4]) +
    10 * s[6] +
    10 * s[7]
  );
}

/** Gymnasium's observation, computed from the lander's physical state. */
function expectedState(env: LunarLander): number[] {
  const i = env.inspect();
  return [
    (i.position.x - W / 2) / (W / 2),
    (i.position.y - (i.helipad.y + LEG_DOWN / SCALE)) / (H / 2),
    (i.velocity.x * (W / 2)) / FPS,
    (i.velocity.y * (H / 2)) / FPS,
    i.angle,
    (20 * i.angularVelocity) / FPS,
    i.legContact[0] ? 1 : 0,
    i.legContact[1] ? 1 : 0,
  ];
}

interface Episode {
  ret: number;
  len: number;
  lastReward: number;
  terminated: boolean;
}

function runEpisode(env: LanderEnv, seed: number, policy: (obs: Float32Array) => LunarLanderAction): Episode {
  let { observation } = env.reset({ seed });
  let ret = 0;
  for (let len = 1; ; len++) {
    const r = env.step(policy(observation));
    ret += r.reward;
    observation = r.observation;
    if (r.terminated || r.truncated) return { ret, len, lastReward: r.reward, terminated: r.terminated };
  }
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

describe('spaces and registration', () => {
  it("uses Gymnasium v3's observation bounds and action spaces", () => {
    const env = new LunarLander();
    const f = Math.fround;
    expect(env.observationSpace.dtype).toBe('float32');
    expect(env.observationSpace.shape).toEqual([8]);
    expect(Array.from(env.observationSpace.low)).toEqual([-2.5, -2.5, -10, -10, f(-2 * Math.PI), -10, 0, 0]);
    expect(Array.from(env.observationSpace.high)).toEqual([2.5, 2.5, 10, 10, f(2 * Math.PI), 10, 1, 1]);
    expect(env.actionSpace).toBeInstanceOf(Discrete);
    expect(String(env.actionSpace)).toBe('Discrete(4)');
    const cont = new LunarLander({ continuous: true });
    expect(cont.actionSpace).toBeInstanceOf(Box);
    expect(String(cont.actionSpace)).toBe('Box(-1.0, 1.0, (2,), float32)');
  });

  it('registers LunarLander-v3 and LunarLanderContinuous-v3 with a 1000-step limit and threshold 200', () => {
    expect(box2dRegistrations.map((r) => r.id)).toEqual(['LunarLander-v3', 'LunarLanderContinuous-v3']);
    for (const id of ['LunarLander-v3', 'LunarLanderContinuous-v3']) {
      const reg = getRegistration(id);
      expect(reg.maxEpisodeSteps).toBe(1000);
      expect(reg.rewardThreshold).toBe(200);
      expect(reg.description).toBeTruthy();
    }
    const env = make('LunarLander-v3');
    expect(env.spec?.kwargs).toEqual({ continuous: false, gravity: -10, enableWind: false, windPower: 15, turbulencePower: 1.5 });
    expect(String(env.actionSpace)).toBe('Discrete(4)');
    const cont = make('LunarLanderContinuous-v3');
    expect(cont.spec?.kwargs.continuous).toBe(true);
    expect(String(cont.actionSpace)).toBe('Box(-1.0, 1.0, (2,), float32)');
    expect(String(make('LunarLanderContinuous-v3', { continuous: false }).actionSpace)).toBe('Discrete(4)');
  });

  it('observations are fresh float32 arrays inside the space, never mutated afterwards', () => {
    const env = new LunarLander();
    const seen: Array<[Float32Array, number[]]> = [];
    let { observation } = env.reset({ seed: 3 });
    seen.push([observation, Array.from(observation)]);
    for (let t = 0; t < 400; t++) {
      const r = env.step(lunarLanderHeuristic(observation, false));
      expect(r.observation).toBeInstanceOf(Float32Array);
      expect(r.observation.length).toBe(8);
      expect(env.observationSpace.contains(r.observation)).toBe(true);
      expect(r.observation).not.toBe(observation);
      observation = r.observation;
      seen.push([observation, Array.from(observation)]);
      if (r.terminated) break;
    }
    for (const [obs, copy] of seen) expect(Array.from(obs)).toEqual(copy);
  });
});

describe('options', () => {
  it('rejects gravity outside (-12, 0), naming the option', () => {
    expect(() => make('LunarLander-v3', { gravity: 5 })).toThrow(ValidationError);
    expect(() => make('LunarLander-v3', { gravity: 5 })).toThrow(/gravity: expected < 0, received 5/);
    expect(() => make('LunarLander-v3', { gravity: -12 })).toThrow(/gravity: expected > -12/);
    expect(() => new LunarLander({ gravity: 0 })).toThrow(/gravity/);
    expect(() => make('LunarLander-v3', { gravity: -11.9 })).not.toThrow();
  });

  it('rejects wind and turbulence powers outside Gymnasium’s recommended ranges, and unknown keys', () => {
    expect(() => make('LunarLander-v3', { windPower: 20.5 })).toThrow(/windPower: expected <= 20/);
    expect(() => make('LunarLander-v3', { windPower: -1 })).toThrow(/windPower: expected >= 0/);
    expect(() => make('LunarLander-v3', { turbulencePower: 2.5 })).toThrow(/turbulencePower: expected <= 2/);
    expect(() => make('LunarLander-v3', { continuous: 'yes' })).toThrow(/continuous: expected boolean/);
    expect(() => make('LunarLander-v3', { enable_wind: true })).toThrow(/unknown keys.*enable_wind/);
    expect(() => make('LunarLanderContinuous-v3', { foo: 1 })).toThrow(/unknown keys.*foo/);
    expect(() => make('LunarLander-v3', { gravity: Number.NaN })).toThrow(/gravity/);
  });

  it('gravity changes the fall', () => {
    const fall = (gravity: number) => {
      const env = new LunarLander({ gravity });
      env.reset({ seed: 1 });
      for (let t = 0; t < 30; t++) env.step(0);
      return env.inspect().velocity.y;
    };
    expect(fall(-2)).toBeGreaterThan(fall(-10));
  });
});

describe('seeding', () => {
  const trajectory = (env: LanderEnv, seed: number, steps: number) => {
    const rng = new Rng(99);
    const out: number[] = [...env.reset({ seed }).observation];
    for (let t = 0; t < steps; t++) {
      const r = env.step(env.actionSpace.sample(rng));
      out.push(...r.observation, r.reward, r.terminated ? 1 : 0);
      if (r.terminated) break;
    }
    return out;
  };

  it('the same seed gives identical trajectories (discrete, continuous, wind)', () => {
    for (const opts of [{}, { continuous: true }, { enableWind: true }, { continuous: true, enableWind: true }]) {
      const a = trajectory(new LunarLander(opts), 7, 300);
      const b = trajectory(new LunarLander(opts), 7, 300);
      expect(a).toEqual(b);
      // Re-seeding the same env restarts the stream.
      const env = new LunarLander(opts);
      trajectory(env, 123, 50);
      expect(trajectory(env, 7, 300)).toEqual(a);
    }
  });

  it('different seeds give different terrain and initial push', () => {
    const env = new LunarLander();
    env.reset({ seed: 1 });
    const t1 = env.inspect();
    env.reset({ seed: 2 });
    const t2 = env.inspect();
    expect(Array.from(t1.terrainY)).not.toEqual(Array.from(t2.terrainY));
    expect(t1.velocity).not.toEqual(t2.velocity);
  });

  it('flattens the pad as Gymnasium does: five chunks at H/4, smoothed by 0.33·(sum of 3)', () => {
    const env = new LunarLander();
    env.reset({ seed: 5 });
    const i = env.inspect();
    expect(i.helipad).toEqual({ x1: (W / 10) * 4, x2: (W / 10) * 6, y: H / 4 });
    // Chunks 4, 5, 6 average three pad heights: 0.33 · 3 · H/4 (0.99 of the pad height).
    for (const k of [4, 5, 6]) expect(i.terrainY[k]).toBeCloseTo(0.33 * 3 * (H / 4), 12);
    for (let k = 0; k < 11; k++) {
      expect(i.terrainX[k]).toBeCloseTo((W / 10) * k, 12);
      expect(i.terrainY[k]).toBeGreaterThanOrEqual(0);
      expect(i.terrainY[k]).toBeLessThanOrEqual(0.99 * (H / 2));
    }
  });
});

describe('actions', () => {
  it('rejects invalid discrete actions, naming the value and the space', () => {
    const env = new LunarLander();
    env.reset({ seed: 0 });
    for (const bad of [4, -1, 1.5, '2', null, Number.NaN, [2]]) {
      let err: unknown;
      try {
        env.step(bad as unknown as number);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KairosError);
      expect((err as KairosError).code).toBe('invalid_action');
      expect((err as Error).message).toMatch(/LunarLander-v3: invalid action .*Discrete\(4\)/);
    }
    expect(() => env.step(4)).toThrow(/invalid action 4/);
  });

  it('rejects continuous actions of the wrong shape or non-finite, and clips the rest', () => {
    const env = new LunarLander({ continuous: true });
    env.reset({ seed: 0 });
    expect(() => env.step(new Float32Array(3))).toThrow(/expected 2 numbers.*Box\(-1.0, 1.0, \(2,\), float32\)/);
    expect(() => env.step(0)).toThrow(KairosError);
    expect(() => env.step([Number.NaN, 0])).toThrow(/invalid action \[NaN, 0\].*finite/);
    // Out-of-range values are clipped: 5 acts as 1.
    const a = new LunarLander({ continuous: true });
    const b = new LunarLander({ continuous: true });
    a.reset({ seed: 4 });
    b.reset({ seed: 4 });
    const ra = a.step([5, -7]);
    const rb = b.step(Float32Array.of(1, -1));
    expect(Array.from(ra.observation)).toEqual(Array.from(rb.observation));
    expect(ra.reward).toBe(rb.reward);
  });

  it('a rejected action leaves the episode untouched (property)', () => {
    const invalid = fc.oneof(
      fc.integer().filter((n) => n < 0 || n > 3),
      fc.double().filter((x) => !Number.isInteger(x)),
      fc.string(),
      fc.constant(null),
      fc.array(fc.integer({ min: 0, max: 3 })),
    );
    fc.assert(
      fc.property(invalid, fc.integer({ min: 0, max: 3 }), (bad, good) => {
        const a = new LunarLander();
        const b = new LunarLander();
        a.reset({ seed: 21 });
        b.reset({ seed: 21 });
        expect(() => a.step(bad as unknown as number)).toThrow(KairosError);
        const ra = a.step(good);
        const rb = b.step(good);
        expect(Array.from(ra.observation)).toEqual(Array.from(rb.observation));
        expect(ra.reward).toBe(rb.reward);
      }),
      { numRuns: 40, seed: 1 },
    );
  });

  it('any finite continuous action is accepted and keeps the observation finite (property)', () => {
    const env = new LunarLander({ continuous: true });
    env.reset({ seed: 9 });
    fc.assert(
      fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), (m, l) => {
        const r = env.step([m, l]);
        for (const v of r.observation) expect(Number.isFinite(v)).toBe(true);
        if (r.terminated) env.reset();
      }),
      { numRuns: 200, seed: 2 },
    );
  });

  it('throws before reset', () => {
    expect(() => new LunarLander().step(0)).toThrow(/before reset/);
  });
});

describe('reward and termination', () => {
  it('the observation is the scaled physical state and the reward is the shaping difference minus fuel', () => {
    // [action, expected main power, expected side power]
    const discrete: Array<[LunarLanderAction, number, number]> = [
      [0, 0, 0],
      [2, 1, 0],
      [1, 0, 1],
      [3, 0, 1],
    ];
    const continuous: Array<[LunarLanderAction, number, number]> = [
      [[0.6, 0], 0.8, 0], // main: (0.6 + 1) / 2
      [[-0.3, 0.7], 0, 0.7], // main off below 0; lateral fires above 0.5
      [[0.0, -0.5], 0, 0], // main fires only for > 0; lateral only for |l| > 0.5
      [[1, -0.9], 1, 0.9],
    ];
    for (const [opts, cases] of [
      [{}, discrete],
      [{ continuous: true }, continuous],
    ] as const) {
      const env = new LunarLander(opts);
      env.reset({ seed: 11 });
      for (let t = 0; t < 10; t++) env.step(opts.continuous ? [0, 0] : 0);
      let prev = env.inspect().state;
      for (let k = 0; k < 12; k++) {
        const [action, m, s] = cases[k % cases.length];
        const r = env.step(action);
        const state = expectedState(env);
        expect(Array.from(env.inspect().state)).toEqual(state);
        expect(Array.from(r.observation)).toEqual(state.map(Math.fround));
        expect(r.terminated).toBe(false);
        expect(r.reward).toBeCloseTo(shaping(state) - shaping(prev) - 0.3 * m - 0.03 * s, 10);
        prev = env.inspect().state;
      }
    }
  });

  it('a crash (hull touches the ground) ends the episode with -100', () => {
    // With the engines off the lander drops onto the terrain hard enough to hit its hull.
    let crashes = 0;
    for (let seed = 0; seed < 5; seed++) {
      const env = new LunarLander();
      const ep = runEpisode(env, seed, () => 0);
      expect(ep.terminated).toBe(true);
      expect(ep.lastReward).toBe(-100);
      if (env.inspect().gameOver) crashes++;
    }
    expect(crashes).toBeGreaterThan(0);
  });

  it('leaving the screen (|x| >= 1) ends the episode with -100', () => {
    // Always firing the right engine spins the craft and throws it sideways.
    const env = new LunarLander({ gravity: -1 });
    let { observation } = env.reset({ seed: 2 });
    for (let t = 0; t < 1000; t++) {
      const r = env.step(observation[0] > 0 ? 1 : 3);
      observation = r.observation;
      if (r.terminated) {
        expect(r.reward).toBe(-100);
        const i = env.inspect();
        expect(i.gameOver || Math.abs(i.state[0]) >= 1).toBe(true);
        return;
      }
    }
    throw new Error('expected the episode to end');
  });

  it('a landing ends with +100 once Box2D puts the lander to sleep on the pad', () => {
    const env = new LunarLander();
    const ep = runEpisode(env, 1, (obs) => lunarLanderHeuristic(obs, false));
    expect(ep.terminated).toBe(true);
    expect(ep.lastReward).toBe(100);
    const i = env.inspect();
    expect(i.awake).toBe(false);
    expect(i.velocity).toEqual({ x: 0, y: 0 }); // Box2D zeroes a sleeping body's velocity
    expect(i.legContact).toEqual([true, true]);
    expect(Math.abs(i.state[0])).toBeLessThan(0.2); // between the flags
    expect(Math.abs(i.state[1])).toBeLessThan(0.05); // legs on the pad
    expect(Math.abs(i.angle)).toBeLessThan(0.05);
  });

  it('leg contact flags follow Gymnasium’s begin/end events, not a contact count', () => {
    // Seed 3: each leg comes to rest across a terrain vertex; it touches the second edge
    // (begin: flag set), then leaves the first (end: flag cleared) while still resting on
    // the second. Gymnasium's ContactDetector keeps one boolean per leg and does the same.
    const env = new LunarLander();
    const ep = runEpisode(env, 3, (obs) => lunarLanderHeuristic(obs, false));
    expect(ep.lastReward).toBe(100);
    expect(env.inspect().legContact).toEqual([false, false]);
  });

  it('wind pushes the lander while airborne and advances the wind phase each step', () => {
    const calm = new LunarLander();
    const windy = new LunarLander({ enableWind: true, windPower: 20, turbulencePower: 2 });
    calm.reset({ seed: 8 });
    windy.reset({ seed: 8 });
    const idx0 = windy.inspect().windIdx;
    const torque0 = windy.inspect().torqueIdx;
    expect(idx0).toBeGreaterThanOrEqual(-9999 + 1); // drawn in [-9999, 9999), then one reset step
    expect(idx0).toBeLessThan(9999 + 1);
    for (let t = 0; t < 20; t++) {
      calm.step(0);
      windy.step(0);
    }
    expect(windy.inspect().windIdx).toBe(idx0 + 20);
    expect(windy.inspect().torqueIdx).toBe(torque0 + 20);
    expect(windy.inspect().position.x).not.toBe(calm.inspect().position.x);
  });
});

describe('physics', () => {
  it('the allocation-free leg joint gives bit-identical results to planck’s RevoluteJoint', () => {
    class PlanckJointLander extends LunarLander {
      protected override createLegJoint(def: RevoluteJointDef): Joint {
        return new RevoluteJoint(def);
      }
    }
    let steps = 0;
    for (const opts of [{}, { continuous: true, enableWind: true }]) {
      for (let seed = 0; seed < 3; seed++) {
        const fast = new LunarLander(opts);
        const ref = new PlanckJointLander(opts);
        let obs = fast.reset({ seed }).observation;
        expect(Array.from(ref.reset({ seed }).observation)).toEqual(Array.from(obs));
        const rng = new Rng(seed);
        for (let t = 0; t < 1000; t++) {
          // Heuristic first (landings and contacts), random in the second half of the seeds.
          const a = seed < 2 ? lunarLanderHeuristic(obs, fast.continuous) : fast.actionSpace.sample(rng);
          const rf = fast.step(a);
          const rr = ref.step(a);
          steps++;
          expect(Array.from(rf.observation)).toEqual(Array.from(rr.observation));
          expect(rf.reward).toBe(rr.reward);
          expect(rf.terminated).toBe(rr.terminated);
          obs = rf.observation;
          if (rf.terminated) break;
        }
      }
    }
    expect(steps).toBeGreaterThan(500);
  });
});

describe('heuristic and random play (Gymnasium: heuristic > 200, random about -150 to -250)', () => {
  const EPISODES = 30;

  it('the discrete heuristic averages at least 200 over 30 seeded episodes', () => {
    const env = make<Float32Array, LunarLanderAction>('LunarLander-v3');
    const policy = box2dHeuristics['LunarLander-v3'];
    const rets: number[] = [];
    for (let seed = 0; seed < EPISODES; seed++) {
      const ep = runEpisode(env, seed, (obs) => {
        const a = policy(obs);
        expect(env.actionSpace.contains(a)).toBe(true);
        return a;
      });
      rets.push(ep.ret);
    }
    expect(mean(rets)).toBeGreaterThanOrEqual(200);
  });

  it('the continuous heuristic averages at least 200 over 30 seeded episodes', () => {
    const env = make<Float32Array, LunarLanderAction>('LunarLanderContinuous-v3');
    const policy = heuristicFor('LunarLander-v3', { continuous: true })!;
    expect(policy).toBe(box2dHeuristics['LunarLanderContinuous-v3']);
    const rets: number[] = [];
    for (let seed = 0; seed < EPISODES; seed++) {
      rets.push(
        runEpisode(env, seed, (obs) => {
          const a = policy(obs);
          expect(env.actionSpace.contains(a)).toBe(true);
          return a;
        }).ret,
      );
    }
    expect(mean(rets)).toBeGreaterThanOrEqual(200);
  });

  it('uniform random actions average between -250 and -100 over 30 seeded episodes', () => {
    const env = make<Float32Array, LunarLanderAction>('LunarLander-v3');
    const rng = new Rng(2024);
    const rets: number[] = [];
    for (let seed = 0; seed < EPISODES; seed++) rets.push(runEpisode(env, seed, () => env.actionSpace.sample(rng)).ret);
    const m = mean(rets);
    expect(m).toBeGreaterThan(-250);
    expect(m).toBeLessThan(-100);
  });

  it('the heuristic follows Gymnasium’s rules on hand-made observations', () => {
    const obs = (o: number[]) => Float32Array.from(o);
    // Falling fast, level, centred: hover_todo = (0 - 0.5)·0.5 + 1·0.5 = 0.25 → main engine.
    expect(lunarLanderHeuristic(obs([0, 0.5, 0, -1, 0, 0, 0, 0]), false)).toBe(2);
    // Hovering, tilted left of the target angle: angle_todo < -0.05 → right engine (3).
    expect(lunarLanderHeuristic(obs([0, 0.0, 0, 0.1, 0.3, 0, 0, 0]), false)).toBe(3);
    expect(lunarLanderHeuristic(obs([0, 0.0, 0, 0.1, -0.3, 0, 0, 0]), false)).toBe(1);
    // Legs down and slow: nothing to do.
    expect(lunarLanderHeuristic(obs([0, 0, 0, 0, 0.3, 0, 1, 0]), false)).toBe(0);
    // Continuous: [hover_todo·20 − 1, −angle_todo·20] clipped to [-1, 1].
    const c = lunarLanderHeuristic(obs([0, 0.5, 0, -0.5, 0, 0.01, 0, 0]), true) as Float32Array;
    // hover_todo = (0 - 0.5)·0.5 + 0.25 = 0; angle_todo = -0.01 → lateral 0.2.
    expect(c[0]).toBeCloseTo(-1, 6);
    expect(c[1]).toBeCloseTo(0.2, 6);
    expect(Object.keys(box2dHeuristics).sort()).toEqual(['LunarLander-v3', 'LunarLanderContinuous-v3']);
  });
});
