/**
 * Each classic-control heuristic must clearly beat uniformly random actions over a few
 * seeded episodes, through `make()` with the registered time limits.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import '../../../src/envs/builtin.js';
import { make } from '../../../src/envs/registry.js';
import { classicHeuristics } from '../../../src/envs/classic/index.js';

const EPISODES = 5;

function evaluate(id: string, policy: 'heuristic' | 'random'): { mean: number; goals: number } {
  const env = make<Float32Array, any>(id);
  const rng = new Rng(123);
  const act = classicHeuristics[id];
  let total = 0;
  let goals = 0;
  for (let ep = 0; ep < EPISODES; ep++) {
    let { observation } = env.reset({ seed: 1000 + ep });
    for (;;) {
      const a = policy === 'heuristic' ? act(observation) : env.actionSpace.sample(rng);
      expect(env.actionSpace.contains(a), `${id} heuristic gave ${String(a)}`).toBe(true);
      const r = env.step(a);
      total += r.reward;
      observation = r.observation;
      if (r.terminated) goals++;
      if (r.terminated || r.truncated) break;
    }
  }
  return { mean: total / EPISODES, goals };
}

describe('classic-control heuristics', () => {
  it('covers every classic-control env', () => {
    expect(Object.keys(classicHeuristics).sort()).toEqual(
      ['Acrobot-v1', 'CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1'].sort(),
    );
  });

  it('CartPole: balances for at least 200 steps on average (random: ~20)', () => {
    const h = evaluate('CartPole-v1', 'heuristic');
    const r = evaluate('CartPole-v1', 'random');
    expect(h.mean).toBeGreaterThanOrEqual(200);
    expect(r.mean).toBeLessThan(100);
  });

  it('MountainCar: reaches the flag every episode (random: never within 200 steps)', () => {
    const h = evaluate('MountainCar-v0', 'heuristic');
    expect(h.goals).toBe(EPISODES);
    expect(h.mean).toBeGreaterThan(-200);
    expect(evaluate('MountainCar-v0', 'random').mean).toBe(-200);
  });

  it('MountainCarContinuous: reaches the flag every episode with a positive return', () => {
    const h = evaluate('MountainCarContinuous-v0', 'heuristic');
    expect(h.goals).toBe(EPISODES);
    expect(h.mean).toBeGreaterThan(80);
    expect(evaluate('MountainCarContinuous-v0', 'random').mean).toBeLessThan(0);
  });

  it('Acrobot: swings up well within the time limit', () => {
    const h = evaluate('Acrobot-v1', 'heuristic');
    const r = evaluate('Acrobot-v1', 'random');
    expect(h.goals).toBe(EPISODES);
    expect(h.mean).toBeGreaterThan(-200);
    expect(h.mean).toBeGreaterThan(r.mean + 100);
  });

  it('Pendulum: swings up and holds, far above random torques', () => {
    const h = evaluate('Pendulum-v1', 'heuristic');
    const r = evaluate('Pendulum-v1', 'random');
    expect(h.mean).toBeGreaterThan(-400);
    expect(h.mean).toBeGreaterThan(r.mean + 500);
  });
});
