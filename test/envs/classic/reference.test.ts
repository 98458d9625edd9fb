/**
 * Replays Gymnasium's own classic-control trajectories (`test/fixtures/gymnasium/
 * classic-control-gymnasium.json`, recorded from the unwrapped Gymnasium envs with the
 * state set directly after reset; provenance in that folder's README.md) and checks every observation, reward and termination
 * flag to within 1e-5, absolute or relative, whichever is larger.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../../../src/envs/builtin.js';
import { isStatefulEnv } from '../../../src/envs/env.js';
import { make } from '../../../src/envs/registry.js';

interface ReferenceStep {
  action: number | number[];
  obs: number[];
  reward: number;
  terminated: boolean;
}
interface ReferenceCase {
  env: string;
  note?: string;
  initial_state: number[];
  steps: ReferenceStep[];
}

const REFERENCE_URL = new URL('../../fixtures/gymnasium/classic-control-gymnasium.json', import.meta.url);
// The fixture's checksum, as recorded in its README: a truncated or edited file fails loudly.
const REFERENCE_SHA256 = 'ba2f4dcaf96b442a04778ac543f931ed5db8ca8ae895f15bd9558d8119654b9c';
const referenceBytes = readFileSync(REFERENCE_URL);
const reference = JSON.parse(referenceBytes.toString('utf8')) as { source: string; cases: ReferenceCase[] };
const TOL = 1e-5;

function close(received: number, expected: number): boolean {
  return Math.abs(received - expected) <= Math.max(TOL, TOL * Math.abs(expected));
}

describe('classic control matches Gymnasium reference trajectories', () => {
  it('reads the fixture it was written against (SHA-256)', () => {
    expect(createHash('sha256').update(referenceBytes).digest('hex')).toBe(REFERENCE_SHA256);
  });

  it('has cases for every classic-control env', () => {
    const ids = new Set(reference.cases.map((c) => c.env));
    for (const id of ['CartPole-v1', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Acrobot-v1', 'Pendulum-v1']) {
      expect(ids.has(id), `no reference case for ${id}`).toBe(true);
    }
  });

  it.each(reference.cases.map((c, i) => [i, c] as const))('case %i', (index, c) => {
    const label = `case ${index} (${c.env}, ${c.note ?? 'no note'})`;
    // Unwrapped, as the reference was recorded: no TimeLimit, no OrderEnforcing.
    const env = make<Float32Array, unknown>(c.env, { maxEpisodeSteps: null, disableOrderEnforcing: true });
    if (!isStatefulEnv(env)) throw new Error(`${label}: env does not implement StatefulEnv`);
    env.reset({ seed: 0 });
    env.setState(c.initial_state);
    expect(c.steps.length).toBeGreaterThan(0);

    c.steps.forEach((step, t) => {
      const action = typeof step.action === 'number' ? step.action : Float32Array.from(step.action);
      const r = env.step(action);
      const at = `${label}, step ${t}, action ${JSON.stringify(step.action)}`;
      if (r.observation.length !== step.obs.length) {
        throw new Error(`${at}: obs length ${r.observation.length}, expected ${step.obs.length}`);
      }
      for (let k = 0; k < step.obs.length; k++) {
        if (!close(r.observation[k], step.obs[k])) {
          throw new Error(`${at}: obs[${k}] = ${r.observation[k]}, expected ${step.obs[k]} (diff ${Math.abs(r.observation[k] - step.obs[k])})`);
        }
      }
      if (!close(r.reward, step.reward)) {
        throw new Error(`${at}: reward = ${r.reward}, expected ${step.reward}`);
      }
      if (r.terminated !== step.terminated) {
        throw new Error(`${at}: terminated = ${r.terminated}, expected ${step.terminated}`);
      }
      if (r.truncated !== false) throw new Error(`${at}: truncated = ${r.truncated} from an unwrapped env`);
    });
  });
});
