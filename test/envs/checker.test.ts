import { describe, expect, it } from 'vitest';
import { KairosError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { Box, Discrete, type Space } from '../../src/core/spaces.js';
import '../../src/envs/builtin.js';
import { EnvCheckError, checkEnv } from '../../src/envs/checker.js';
import { EMPTY_INFO, seedEnvRng, type Env, type Info, type ResetOptions, type StepResult } from '../../src/envs/env.js';
import { make } from '../../src/envs/registry.js';
import { OrderEnforcing } from '../../src/envs/wrappers/order-enforcing.js';

/** A correct env: a seeded random walk on [-10, 10] with a step counter; 3 actions. */
class Walk implements Env<Float32Array, number> {
  observationSpace: Space<Float32Array> = new Box([-10, 0], [10, 100]);
  actionSpace: Space<number> = new Discrete(3);
  protected rng: Rng | undefined;
  protected pos = 0;
  protected t = 0;
  reset(opts?: ResetOptions): { observation: Float32Array; info: Info } {
    this.rng = seedEnvRng(this.rng, opts?.seed);
    this.pos = this.rng.uniform(-1, 1);
    this.t = 0;
    return { observation: this.observe(), info: this.info() };
  }
  step(action: number): StepResult<Float32Array> {
    if (!this.actionSpace.contains(action)) throw new KairosError(`bad action ${action}`, 'invalid_action');
    this.t++;
    this.pos = Math.max(-10, Math.min(10, this.pos + (action - 1) + 0.1 * this.rng!.normal()));
    return { observation: this.observe(), reward: -Math.abs(this.pos), terminated: Math.abs(this.pos) >= 10, truncated: this.t >= 30, info: this.info() };
  }
  protected observe(): Float32Array {
    return Float32Array.of(this.pos, this.t);
  }
  protected info(): Info {
    return EMPTY_INFO;
  }
}

const good = () => new OrderEnforcing(new Walk());
const errorsOf = (env: Env<any, any>, opts = {}) => checkEnv(env, { skipRenderCheck: false, ...opts }).errors;
const warningsOf = (env: Env<any, any>) => checkEnv(env).warnings;

describe('checkEnv', () => {
  it('passes a correct env with no warnings, and every built-in env', () => {
    expect(checkEnv(good())).toEqual({ ok: true, errors: [], warnings: [] });
    for (const id of ['CartPole-v1', 'MountainCar-v0', 'Acrobot-v1']) expect(checkEnv(make(id)).errors).toEqual([]);
  });

  it('spaces: rejects a non-Space', () => {
    const env = good();
    (env.env as Walk).observationSpace = { shape: [2] } as never;
    expect(errorsOf(env)[0]).toMatch(/^\[spaces\] observationSpace: expected a Space/);
  });

  it('space-sample: catches a space whose samples are outside it', () => {
    const env = new Walk();
    const space = new Discrete(3);
    space.sample = () => 7;
    env.actionSpace = space;
    expect(errorsOf(env).join('\n')).toMatch(/\[space-sample\] actionSpace.sample\(\) returned a value outside Discrete\(3\): expected an integer in \[0, 2\], received 7/);
  });

  it('box-bounds: low > high is an error, low == high a warning', () => {
    const env = new Walk();
    const box = new Box([-10, 0], [10, 100]);
    box.low[1] = 200;
    env.observationSpace = box;
    expect(errorsOf(env)[0]).toMatch(/\[box-bounds\] observationSpace: expected low\[1\] <= high\[1\], received low 200 and high 100/);
    const flat = new Walk();
    flat.observationSpace = new Box([-10, 5], [10, 5]);
    expect(warningsOf(flat).join('\n')).toMatch(/\[box-bounds\] observationSpace: low\[1\] == high\[1\] == 5/);
  });

  it('action-space: warns for unbounded, unnormalised and integer continuous actions', () => {
    class Cont extends Walk {
      override step(a: unknown) {
        return super.step(1 + Math.sign((a as Float32Array)[0]));
      }
    }
    const mk = (space: Space) => {
      const e = new Cont();
      e.actionSpace = space as never;
      return checkEnv(new OrderEnforcing(e)).warnings.join('\n');
    };
    expect(mk(new Box(-2, 2, [1]))).toMatch(/\[action-space\] expected a symmetric, normalised action space Box\(-1, 1\), received Box\(-2.0, 2.0, \(1,\), float32\)/);
    expect(mk(new Box(-Infinity, Infinity, [1]))).toMatch(/\[action-space\] expected finite action bounds/);
    expect(mk(new Box(-1, 1, [1], 'int32'))).toMatch(/\[action-space\] expected a float Box, Discrete or MultiDiscrete/);
    expect(mk(new Box(-1, 1, [1]))).toBe('');
  });

  it('observation-space: warns for float images', () => {
    const env = new Walk();
    env.observationSpace = new Box(0, 1, [84, 84, 3]) as never;
    expect(warningsOf(env).join('\n')).toMatch(/\[observation-space\] Box\(0.0, 1.0, \(84, 84, 3\), float32\) looks like an image: expected dtype uint8/);
  });

  it('step-before-reset: warns when step() before reset() does not throw reset_needed', () => {
    expect(warningsOf(new Walk()).join('\n')).toMatch(/\[step-before-reset\] step\(\) before reset\(\) threw TypeError/);
    class Lenient extends Walk {
      override step(a: number) {
        this.rng ??= new Rng(0);
        return super.step(a);
      }
    }
    expect(warningsOf(new Lenient()).join('\n')).toMatch(/\[step-before-reset\] step\(\) before reset\(\) returned a result/);
    expect(warningsOf(good())).toEqual([]);
  });

  it('reset: checks the result shape, the observation and the info', () => {
    class NoObject extends Walk {
      override reset(opts?: ResetOptions) {
        return super.reset(opts).observation as never;
      }
    }
    expect(errorsOf(new NoObject())[0]).toMatch(/^\[reset\] reset\(\{ seed: 0 \}\): expected an object \{ observation, info \}, received Float32Array/);
    class Outside extends Walk {
      override reset(opts?: ResetOptions) {
        const r = super.reset(opts);
        r.observation[1] = -5;
        return r;
      }
    }
    expect(errorsOf(new Outside())[0]).toMatch(/\[reset\] reset\(\{ seed: 0 \}\): observation not in Box\(\[-10.0 0.0\], \[10.0 100.0\], \(2,\), float32\): expected index 1 in \[0.0, 100.0\], received -5/);
    class BadInfo extends Walk {
      override reset(opts?: ResetOptions) {
        return { observation: super.reset(opts).observation, info: null as never };
      }
    }
    expect(errorsOf(new BadInfo())[0]).toMatch(/\[reset\] reset\(\{ seed: 0 \}\): expected info to be an object, received null/);
  });

  it('observation-dtype: warns when a Box observation is not the dtype typed array', () => {
    class F64 extends Walk {
      protected override observe(): Float32Array {
        return Float64Array.of(this.pos, this.t) as never;
      }
    }
    expect(warningsOf(new OrderEnforcing(new F64())).join('\n')).toMatch(/\[observation-dtype\] reset\(\{ seed: 0 \}\): expected a Float32Array .* received a Float64Array/);
  });

  it('reset-seed: catches an env that ignores the seed', () => {
    class IgnoresSeed extends Walk {
      override reset() {
        return super.reset({ seed: Math.floor(Math.random() * 1e9) });
      }
    }
    expect(errorsOf(new OrderEnforcing(new IgnoresSeed())).join('\n')).toMatch(/\[reset-seed\] reset\(\{ seed: 0 \}\) twice gave different observations/);
  });

  it('reset-seed-differs: warns when every seed gives the same start', () => {
    class FixedStart extends Walk {
      override reset(opts?: ResetOptions) {
        const r = super.reset(opts);
        this.pos = 0;
        r.observation[0] = 0;
        return r;
      }
    }
    expect(warningsOf(new OrderEnforcing(new FixedStart())).join('\n')).toMatch(/\[reset-seed-differs\] reset with seeds 0..4 gave the same observation/);
  });

  it('reset-no-seed: catches an env that re-seeds from entropy when no seed is given', () => {
    class Reseeds extends Walk {
      override reset(opts?: ResetOptions) {
        return super.reset({ seed: opts?.seed ?? Math.floor(Math.random() * 1e9) });
      }
    }
    expect(errorsOf(new OrderEnforcing(new Reseeds())).join('\n')).toMatch(/\[reset-no-seed\] reset\(\{ seed: 0 \}\) then reset\(\) gave different observations/);
    class ReseedsSame extends Walk {
      override reset(opts?: ResetOptions) {
        return super.reset({ seed: opts?.seed ?? 0 });
      }
    }
    expect(warningsOf(new OrderEnforcing(new ReseedsSame())).join('\n')).toMatch(/\[reset-no-seed\] reset\(\) after reset\(\{ seed: 0 \}\) gave the seeded observation .* again/);
  });

  it('step: checks reward, flags, info and observation', () => {
    const broken = (patch: (r: StepResult<Float32Array>) => void) => {
      class B extends Walk {
        override step(a: number) {
          const r = super.step(a);
          patch(r);
          return r;
        }
      }
      return errorsOf(new OrderEnforcing(new B())).join('\n');
    };
    expect(broken((r) => (r.reward = NaN))).toMatch(/\[step\] step 1: expected a finite reward, received NaN/);
    expect(broken((r) => (r.reward = '1' as never))).toMatch(/\[step\] step 1: expected reward to be a number, received "1"/);
    expect(broken((r) => (r.terminated = 0 as never))).toMatch(/\[step\] step 1: expected terminated to be a boolean, received 0/);
    expect(broken((r) => (r.truncated = undefined as never))).toMatch(/\[step\] step 1: expected truncated to be a boolean, received undefined/);
    expect(broken((r) => (r.info = [] as never))).toMatch(/\[step\] step 1: expected info to be an object, received \[\]/);
    expect(broken((r) => (r.observation = Float32Array.of(0, -1)))).toMatch(/\[step\] step 1: observation not in .* expected index 1 in \[0.0, 100.0\], received -1/);
    expect(broken((r) => delete (r as Partial<typeof r>).truncated)).toMatch(/\[step\] step 1: expected fields .* missing truncated/);
  });

  it('step: reports an env that throws on valid actions', () => {
    class Throws extends Walk {
      override step(a: number): StepResult<Float32Array> {
        if (this.t >= 2) throw new Error('simulator exploded');
        return super.step(a);
      }
    }
    expect(errorsOf(new OrderEnforcing(new Throws())).join('\n')).toMatch(/\[step\] step\(\d\) threw after 2 step\(s\) of an episode: simulator exploded/);
  });

  it('step-determinism: catches unseeded randomness in step', () => {
    class Noisy extends Walk {
      override step(a: number) {
        const r = super.step(a);
        r.reward += Math.random();
        return r;
      }
    }
    expect(errorsOf(new OrderEnforcing(new Noisy())).join('\n')).toMatch(/\[step-determinism\] reset\(\{ seed: 0 \}\) and the same actions gave different transitions at step 1/);
  });

  it('observation-ownership: catches reused and mutated observation buffers', () => {
    class Reuses extends Walk {
      private buf = new Float32Array(2);
      protected override observe(): Float32Array {
        this.buf[0] = this.pos;
        this.buf[1] = this.t;
        return this.buf;
      }
    }
    const errors = errorsOf(new OrderEnforcing(new Reuses())).join('\n');
    expect(errors).toMatch(/\[observation-ownership\] step 1 returned the same Float32Array object as reset: expected a new array per observation/);
    class MutatesLater extends Walk {
      private last: Float32Array | undefined;
      override step(a: number) {
        if (this.last) this.last[0] = 99; // scribbles on what it returned before
        const r = super.step(a);
        this.last = r.observation;
        return r;
      }
    }
    expect(errorsOf(new OrderEnforcing(new MutatesLater())).join('\n')).toMatch(/\[observation-ownership\] the observation returned by step 1 changed by step 2/);
  });

  it('action-mask: checks type, length and values, and samples allowed actions', () => {
    const withMask = (mask: unknown) => {
      class M extends Walk {
        protected override info(): Info {
          return { actionMask: mask as Uint8Array };
        }
        override step(a: number) {
          if (mask instanceof Uint8Array && mask.length === 3 && !mask[a]) throw new KairosError(`masked action ${a}`, 'invalid_action');
          return super.step(a);
        }
      }
      return checkEnv(new OrderEnforcing(new M()));
    };
    expect(withMask(Uint8Array.of(1, 0, 1))).toEqual({ ok: true, errors: [], warnings: [] });
    expect(withMask([1, 0, 1]).errors.join('\n')).toMatch(/\[action-mask\] reset: expected info.actionMask to be a Uint8Array of length 3, received \[1,0,1\]/);
    expect(withMask(Uint8Array.of(1, 1)).errors.join('\n')).toMatch(/\[action-mask\] reset: expected info.actionMask of length 3 for Discrete\(3\), received length 2/);
    expect(withMask(Uint8Array.of(1, 2, 0)).errors.join('\n')).toMatch(/\[action-mask\] reset: expected info.actionMask values 0 or 1/);
  });

  it('reward-vector and info-episode: check the conventions', () => {
    const withInfo = (info: Info) => {
      class I extends Walk {
        protected override info(): Info {
          return info;
        }
      }
      return errorsOf(new OrderEnforcing(new I())).join('\n');
    };
    expect(withInfo({ rewardVector: { revenue: 1, cost: -0.5 } })).toBe('');
    expect(withInfo({ rewardVector: { revenue: Infinity } })).toMatch(/\[reward-vector\] reset: expected info.rewardVector.revenue to be a finite number, received Infinity/);
    expect(withInfo({ rewardVector: [1, 2] as never })).toMatch(/\[reward-vector\] reset: expected info.rewardVector to be an object of named numbers/);
    expect(withInfo({ episode: { r: 1, l: 2 } as never })).toMatch(/\[info-episode\] reset: expected info.episode = \{ r, l, t \}/);
  });

  it('render: reports a throwing render() unless skipped', () => {
    class R extends Walk {
      render() {
        throw new Error('no display');
      }
    }
    expect(errorsOf(new R())).toEqual(['[render] render() after reset threw: no display']);
    expect(checkEnv(new R(), { skipRenderCheck: true }).errors).toEqual([]);
  });

  it('warnOnly turns errors into warnings; throwOnError throws an EnvCheckError with the report', () => {
    class Noisy extends Walk {
      override step(a: number) {
        const r = super.step(a);
        r.reward = NaN;
        return r;
      }
    }
    const env = new OrderEnforcing(new Noisy());
    const lenient = checkEnv(env, { warnOnly: true });
    expect(lenient.ok).toBe(true);
    expect(lenient.errors).toEqual([]);
    expect(lenient.warnings.join('\n')).toMatch(/\[step\]/);
    try {
      checkEnv(env, { throwOnError: true });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(EnvCheckError);
      expect((e as EnvCheckError).report.ok).toBe(false);
      expect((e as Error).message).toMatch(/env checker: \d check\(s\) failed:\n- \[step\]/);
    }
  });
});
