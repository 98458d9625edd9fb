import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';

let out: string[] = [];
let err: string[] = [];

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => (err.push(String(chunk)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (out.push(String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const kairos = (...args: string[]) => run(['node', 'kairos', ...args]);

describe('kairos CLI', () => {
  it('lists every built-in env with its spaces', async () => {
    expect(await kairos('envs')).toBe(0);
    const text = out.join('\n');
    for (const id of ['CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Acrobot-v1', 'Pendulum-v1', 'LunarLander-v3']) {
      expect(text).toContain(id);
    }
    expect(text).toContain('Discrete(2)');
  });

  it('envs --json is machine-readable', async () => {
    expect(await kairos('envs', '--json')).toBe(0);
    const rows = JSON.parse(out.join('\n'));
    expect(rows.find((r: any) => r.id === 'CartPole-v1')).toMatchObject({ actionSpace: 'Discrete(2)', maxEpisodeSteps: 500, rewardThreshold: 475 });
  });

  it('envs check passes a built-in env', async () => {
    expect(await kairos('envs', 'check', 'Pendulum-v1')).toBe(0);
    expect(out.join('\n')).toContain('Pendulum-v1: passed the env checker');
  });

  it('rollout prints returns and a summary; the same seed gives the same returns', async () => {
    expect(await kairos('rollout', 'CartPole-v1', '--policy', 'random', '--episodes', '3', '--seed', '7', '--json')).toBe(0);
    const a = JSON.parse(out.pop()!);
    expect(await kairos('rollout', 'CartPole-v1', '--policy', 'random', '--episodes', '3', '--seed', '7', '--json')).toBe(0);
    const b = JSON.parse(out.pop()!);
    expect(a.returns).toHaveLength(3);
    expect(a.returns).toEqual(b.returns);
    expect(await kairos('rollout', 'CartPole-v1', '--policy', 'heuristic', '--episodes', '2')).toBe(0);
    expect(out.join('\n')).toMatch(/CartPole-v1 heuristic: mean return [\d.]+ ± [\d.]+ over 2 episodes/);
  });

  it('unknown ids give one line naming close ids and exit 1', async () => {
    expect(await kairos('rollout', 'CartPol-v1')).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^kairos: unknown env id "CartPol-v1": did you mean "CartPole-v1"\?$/);
  });

  it('bad options give one line naming the option and exit non-zero', async () => {
    expect(await kairos('rollout', 'CartPole-v1', '--episodes', 'ten')).not.toBe(0);
    expect(err.join('')).toMatch(/--episodes: expected an integer >= 1, received "ten"/);
    err = [];
    expect(await kairos('rollout', 'Pendulum-v1', '--options', '{"g": "x"}')).toBe(1);
    expect(err.join('')).toMatch(/g: expected number, received "x"/);
    err = [];
    expect(await kairos('rollout', 'Pendulum-v1', '--options', 'not json')).toBe(1);
    expect(err.join('')).toMatch(/--options: expected a JSON object/);
    err = [];
    expect(await kairos('rollout', 'LunarLander-v3', '--policy', 'greedy')).toBe(1);
    expect(err.join('')).toMatch(/policy: expected random \| heuristic \| constant:<JSON action>/);
  });

  it('invalid actions give one line naming the action space', async () => {
    expect(await kairos('rollout', 'CartPole-v1', '--policy', 'constant:3')).toBe(1);
    expect(err.join('')).toMatch(/invalid action for CartPole-v1: expected an integer in \[0, 1\], received 3 \(action space Discrete\(2\)\)/);
  });

  it('unknown commands exit non-zero', async () => {
    expect(await kairos('fly')).not.toBe(0);
    expect(err.join('')).toMatch(/unknown command 'fly'/);
  });
});
