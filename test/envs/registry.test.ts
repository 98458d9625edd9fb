import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KairosError, ValidationError } from '../../src/core/errors.js';
import { Box, Discrete } from '../../src/core/spaces.js';
import { EMPTY_INFO, type Env } from '../../src/envs/env.js';
import { getRegistration, listEnvs, make, register } from '../../src/envs/registry.js';
import { TimeLimit } from '../../src/envs/wrappers/time-limit.js';
import { OrderEnforcing } from '../../src/envs/wrappers/order-enforcing.js';
import { unwrap } from '../../src/envs/wrappers/wrapper.js';

/** Counts steps; terminates after `horizon` steps. */
class Counter implements Env<Float32Array, number> {
  readonly observationSpace = new Box(0, Infinity, [1]);
  readonly actionSpace = new Discrete(2);
  t = 0;
  constructor(readonly horizon: number) {}
  reset() {
    this.t = 0;
    return { observation: Float32Array.of(0), info: EMPTY_INFO };
  }
  step(_a: number) {
    this.t++;
    return { observation: Float32Array.of(this.t), reward: 1, terminated: this.t >= this.horizon, truncated: false, info: EMPTY_INFO };
  }
}

register({
  id: 'TestCounter-v0',
  entryPoint: (o: { horizon: number }) => new Counter(o.horizon),
  optionsSchema: z.strictObject({ horizon: z.number().int().positive().default(100) }),
  maxEpisodeSteps: 5,
  rewardThreshold: 5,
});

describe('registry', () => {
  it('make applies defaults, spec, OrderEnforcing and TimeLimit', () => {
    const env = make<Float32Array, number>('TestCounter-v0');
    expect(env).toBeInstanceOf(OrderEnforcing);
    expect((env as OrderEnforcing<Float32Array, number>).env).toBeInstanceOf(TimeLimit);
    expect(env.spec).toMatchObject({ id: 'TestCounter-v0', maxEpisodeSteps: 5, rewardThreshold: 5, kwargs: { horizon: 100 } });
    expect(unwrap(env)).toBeInstanceOf(Counter);
    env.reset();
    const flags = Array.from({ length: 5 }, () => env.step(0).truncated);
    expect(flags).toEqual([false, false, false, false, true]);
  });

  it('TimeLimit keeps terminated when both happen on the last step', () => {
    const env = make<Float32Array, number>('TestCounter-v0', { horizon: 5 });
    env.reset();
    let r;
    for (let i = 0; i < 5; i++) r = env.step(0);
    expect(r).toMatchObject({ terminated: true, truncated: true });
  });

  it('maxEpisodeSteps can be overridden or removed', () => {
    const env = make<Float32Array, number>('TestCounter-v0', { maxEpisodeSteps: 2 });
    env.reset();
    env.step(0);
    expect(env.step(0).truncated).toBe(true);
    const unlimited = make<Float32Array, number>('TestCounter-v0', { maxEpisodeSteps: null });
    expect((unlimited as OrderEnforcing<Float32Array, number>).env).toBeInstanceOf(Counter);
    expect(() => make('TestCounter-v0', { maxEpisodeSteps: 0 })).toThrow(/maxEpisodeSteps: expected a positive integer or null, received 0/);
  });

  it('OrderEnforcing rejects step before reset and after the end of an episode', () => {
    const env = make<Float32Array, number>('TestCounter-v0', { horizon: 1 });
    expect(() => env.step(0)).toThrow(/step\(\) called before reset\(\)/);
    env.reset();
    expect(env.step(0).terminated).toBe(true);
    expect(() => env.step(0)).toThrow(/after the episode ended/);
    env.reset();
    expect(env.step(0).terminated).toBe(true);
  });

  it('OrderEnforcing also rejects a step after truncation by the time limit', () => {
    const env = make<Float32Array, number>('TestCounter-v0', { maxEpisodeSteps: 1 });
    env.reset();
    expect(env.step(0).truncated).toBe(true);
    expect(() => env.step(0)).toThrow(/after the episode ended/);
  });

  it('rejects bad options with the option name', () => {
    expect(() => make('TestCounter-v0', { horizon: -1 })).toThrow(ValidationError);
    expect(() => make('TestCounter-v0', { horizon: -1 })).toThrow(/make TestCounter-v0: horizon: expected >= 0|horizon: expected > 0/);
    expect(() => make('TestCounter-v0', { horizn: 3 })).toThrow(/no unknown keys \(got horizn\)/);
  });

  it('unknown ids suggest close matches', () => {
    expect(() => make('TestCounter-v1')).toThrow(KairosError);
    expect(() => make('TestCounter-v1')).toThrow(/unknown env id "TestCounter-v1": did you mean "TestCounter-v0"\?/);
    expect(() => make('testcountr-v0')).toThrow(/did you mean "TestCounter-v0"/);
    expect(() => getRegistration('Nope-v0')).toThrow(/registered ids: .*TestCounter-v0/);
  });

  it('register validates ids and lists registrations', () => {
    expect(() => register({ id: 'bad id', entryPoint: () => new Counter(1) })).toThrow(/id: expected an id of the form Name-vN/);
    expect(listEnvs().map((r) => r.id)).toContain('TestCounter-v0');
  });
});
