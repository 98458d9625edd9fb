/**
 * GridWorld-v0: masks against the layout, value iteration against breadth-first search on
 * the deterministic grid and against Monte-Carlo simulation on slippery ones, including the
 * history-dependent revisit penalty.
 */
import { describe, expect, it } from 'vitest';
import { make, register } from '../../../src/envs/registry.js';
import { simRegistrations } from '../../../src/envs/sims/index.js';
import { DEFAULT_GRID_LAYOUT, GridWorld, gridWorldValueIteration } from '../../../src/envs/sims/grid-world.js';

// Only the simulators: importing every built-in env (Box2D included) would slow the test down.
for (const reg of simRegistrations) register(reg);

/** Shortest S→G path length by breadth-first search, written for this test. */
function bfsDistance(layout: readonly string[]): number {
  const rows = layout.length;
  const cols = layout[0].length;
  let start = [0, 0];
  layout.forEach((row, r) => {
    const c = row.indexOf('S');
    if (c >= 0) start = [r, c];
  });
  const dist = new Map<string, number>([[start.join(','), 0]]);
  const queue = [start];
  while (queue.length > 0) {
    const [r, c] = queue.shift()!;
    const d = dist.get(`${r},${c}`)!;
    if (layout[r][c] === 'G') return d;
    for (const [dr, dc] of [[-1, 0], [0, 1], [1, 0], [0, -1]]) {
      const rr = r + dr;
      const cc = c + dc;
      if (rr < 0 || rr >= rows || cc < 0 || cc >= cols || layout[rr][cc] === '#' || dist.has(`${rr},${cc}`)) continue;
      dist.set(`${rr},${cc}`, d + 1);
      queue.push([rr, cc]);
    }
  }
  return Infinity;
}

function simulate(options: Record<string, unknown>, policy: (obs: Float32Array) => number, episodes: number, seed: number) {
  const env = make<Float32Array, number>('GridWorld-v0', { ...options, maxEpisodeSteps: null });
  let sum = 0;
  let sumSq = 0;
  for (let ep = 0; ep < episodes; ep++) {
    let { observation } = env.reset({ seed: seed + ep });
    let ret = 0;
    for (let t = 0; ; t++) {
      const r = env.step(policy(observation));
      ret += r.reward;
      observation = r.observation;
      if (r.terminated) break;
      if (t > 10_000) throw new Error('episode did not end');
    }
    sum += ret;
    sumSq += ret * ret;
  }
  const mean = sum / episodes;
  return { mean, se: Math.sqrt((sumSq / episodes - mean * mean) / episodes) };
}

/** A 3 × 3 room around a pillar: 8 free cells, small enough for (cell, visited set) states. */
const ROOM = ['S..', '.#.', '..G'];

describe('GridWorld-v0', () => {
  it('masks moves off the grid and into walls; a masked move stays and costs a step', () => {
    const env = new GridWorld();
    const { info } = env.reset({ seed: 0 });
    expect(Array.from(info.actionMask!)).toEqual([0, 1, 1, 0]); // at S (0, 0): right and down
    env.step(1);
    env.step(1);
    const r = env.step(1); // (0, 3): the wall at (0, 4) is to the right
    expect(env.position).toEqual([0, 3]);
    expect(Array.from(r.info.actionMask!)).toEqual([0, 0, 1, 1]);
    const blocked = env.step(1);
    expect(env.position).toEqual([0, 3]);
    expect(blocked.reward).toBe(-1);
    expect(blocked.info.rewardVector).toEqual({ task: -1, revisit: 0 });
  });

  it('value iteration equals minus the BFS distance on the deterministic default grid', () => {
    expect(bfsDistance(DEFAULT_GRID_LAYOUT)).toBe(9);
    const sol = gridWorldValueIteration();
    expect(sol.value).toBe(-9);
    // Its greedy policy walks the shortest path.
    expect(simulate({}, sol.policy, 1, 0).mean).toBe(-9);
    for (const layout of [ROOM, ['S#G', '...'], ['S....', '####.', 'G....']]) {
      expect(gridWorldValueIteration({ layout }).value).toBe(-bfsDistance(layout));
    }
  });

  it('goal and trap rewards end the episode', () => {
    const env = new GridWorld({ layout: ['S.X', '..G'], goalReward: 5 });
    env.reset({ seed: 0 });
    env.step(1);
    expect(env.step(1)).toMatchObject({ reward: -11, terminated: true });
    env.reset({ seed: 0 });
    env.step(2);
    env.step(1);
    expect(env.step(1)).toMatchObject({ reward: 4, terminated: true });
  });

  it('on a slippery grid the value-iteration value matches Monte-Carlo returns of its policy', () => {
    const options = { slip: 0.2 };
    const sol = gridWorldValueIteration(options);
    expect(sol.value).toBeLessThan(-9);
    const mc = simulate(options, sol.policy, 3000, 100);
    expect(Math.abs(mc.mean - sol.value)).toBeLessThan(4 * mc.se);
  });

  it('with a revisit penalty the reward depends on the history, and (cell, visited) VI matches simulation', () => {
    const env = new GridWorld({ layout: ROOM, revisitPenalty: 2, observeVisited: true });
    env.reset({ seed: 0 });
    expect(env.step(1).info.rewardVector).toEqual({ task: -1, revisit: 0 });
    const back = env.step(3);
    expect(back.reward).toBe(-3);
    expect(back.info.rewardVector).toEqual({ task: -1, revisit: -2 });
    expect(Array.from(back.observation.subarray(9))).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0]);

    const options = { layout: ROOM, slip: 0.4, revisitPenalty: 2, observeVisited: true };
    const sol = gridWorldValueIteration(options);
    const mc = simulate(options, sol.policy, 3000, 200);
    expect(Math.abs(mc.mean - sol.value)).toBeLessThan(4 * mc.se);
    // The penalty costs something, and ignoring the history cannot do better than the optimum.
    const plain = gridWorldValueIteration({ ...options, revisitPenalty: 0 });
    expect(sol.value).toBeLessThan(plain.value);
    const historyBlind = simulate(options, plain.policy, 3000, 200);
    expect(historyBlind.mean).toBeLessThan(sol.value + 4 * historyBlind.se);
  });

  it('value iteration refuses what it cannot solve', () => {
    expect(() => gridWorldValueIteration({ revisitPenalty: 1 })).toThrow(/exceed 16/);
    expect(() => gridWorldValueIteration({ layout: ['S#G'] })).toThrow(/no G is reachable/);
  });
});
