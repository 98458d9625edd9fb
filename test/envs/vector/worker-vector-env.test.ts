import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import type { Info } from '../../../src/envs/env.js';
import '../../../src/envs/builtin.js';
import { SubEnvError, WorkerVectorEnv, makeVectorEnv, type MakeVectorEnvOptions, type VectorEnv } from '../../../src/envs/vector/index.js';
import { TransformReward } from '../../../src/envs/wrappers/index.js';
import '../../fixtures/vector-envs.js';

const fixtures = new URL('../../fixtures/vector-envs.ts', import.meta.url).href;

/** Everything a step returns, copied, with wall-clock episode times removed. */
function snapshot(r: { observations: ArrayLike<number>; rewards?: Float64Array; terminations?: Uint8Array; truncations?: Uint8Array; infos: Info[] }) {
  const plain = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v)) return Array.from(v as Uint8Array);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (k !== 't') o[k] = plain(x);
      return o;
    }
    return v;
  };
  return {
    observations: Array.from(r.observations),
    rewards: r.rewards && Array.from(r.rewards),
    terminations: r.terminations && Array.from(r.terminations),
    truncations: r.truncations && Array.from(r.truncations),
    infos: r.infos.map(plain),
  };
}

/** Runs `steps` steps with seeded random actions and records every result. */
function trajectory(venv: VectorEnv, steps: number, seed: number) {
  const rng = new Rng(seed);
  const out = [snapshot(venv.reset({ seed }))];
  const single = venv.singleActionSpace;
  const actions: number[] = [];
  for (let t = 0; t < steps; t++) {
    actions.length = 0;
    for (let i = 0; i < venv.numEnvs; i++) {
      const a = single.sample(rng) as number | ArrayLike<number>;
      if (typeof a === 'number') actions.push(a);
      else actions.push(...Array.from(a));
    }
    out.push(snapshot(venv.step(actions)));
  }
  return out;
}

function both(id: string, numEnvs: number, options: MakeVectorEnvOptions, steps: number, seed: number) {
  const sync = makeVectorEnv(id, numEnvs, { ...options, mode: 'sync' });
  const worker = makeVectorEnv(id, numEnvs, { ...options, mode: 'worker', numWorkers: 2, modules: [fixtures] });
  try {
    return { sync: trajectory(sync, steps, seed), worker: trajectory(worker, steps, seed) };
  } finally {
    sync.close();
    worker.close();
  }
}

describe('WorkerVectorEnv', () => {
  it('gives the same trajectories as SyncVectorEnv (CartPole, next-step, uneven slices)', () => {
    const { sync, worker } = both('CartPole-v1', 5, { wrappers: [{ wrapper: 'RecordEpisodeStatistics' }] }, 300, 3);
    expect(worker).toEqual(sync);
    // Episodes ended and their statistics crossed the thread boundary.
    expect(worker.some((s) => s.infos.some((i) => (i as Info).episode))).toBe(true);
    expect(worker.some((s) => s.rewards?.some((r) => r === 0))).toBe(true); // autoreset steps
  });

  it('gives the same trajectories in same-step mode, with final observations and masks in infos', () => {
    const { sync, worker } = both('TestCountdown-v0', 3, { autoreset: 'same-step', makeOptions: { mask: true, length: 4 } }, 12, 5);
    expect(worker).toEqual(sync);
    const done = worker.find((s) => s.terminations?.some((x) => x === 1))!;
    expect(done.infos[0]).toMatchObject({ actionMask: [1, 0, 1], finalObservation: [4, expect.any(Number)], finalInfo: { actionMask: [1, 0, 1] } });
  });

  it('supports Box actions with float64 observations, and Discrete observations', () => {
    const cont = both('TestContinuous-v0', 3, {}, 10, 1);
    expect(cont.worker).toEqual(cont.sync);
    const disc = both('TestDiscreteObs-v0', 2, {}, 10, 1);
    expect(disc.worker).toEqual(disc.sync);
  });

  it('stepAsync and resetAsync give the same results as step and reset', async () => {
    const venv = new WorkerVectorEnv({ id: 'TestCountdown-v0', numEnvs: 4, numWorkers: 2, modules: [fixtures], makeOptions: { mask: true } });
    try {
      const a = snapshot(await venv.resetAsync({ seed: 2 }));
      const s1 = snapshot(await venv.stepAsync([0, 1, 2, 0]));
      const pending = venv.stepAsync([1, 1, 1, 1]);
      expect(() => venv.step([0, 0, 0, 0])).toThrow(/stepAsync\/resetAsync is still pending/);
      await pending;
      expect(snapshot(venv.reset({ seed: 2 }))).toEqual(a);
      expect(snapshot(venv.step([0, 1, 2, 0]))).toEqual(s1);
      expect(s1.infos[3]).toEqual({ actionMask: [1, 0, 1] });
    } finally {
      venv.close();
    }
  });

  it('surfaces a sub-env error as a SubEnvError naming the index, and stays usable after reset', () => {
    const venv = new WorkerVectorEnv({ id: 'TestCountdown-v0', numEnvs: 4, numWorkers: 2, modules: [fixtures], makeOptions: { failOnAction: 2 } });
    try {
      venv.reset({ seed: 0 });
      let caught: unknown;
      try {
        venv.step([0, 0, 2, 2]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(SubEnvError);
      expect((caught as SubEnvError).envIndex).toBe(2);
      expect((caught as Error).message).toBe('sub-env 2: Countdown: action 2 is not allowed');
      expect((caught as SubEnvError).originalCode).toBe('invalid_action');
      expect(() => venv.step([0, 0])).toThrow(/expected 4 actions/);
      venv.reset({ seed: 0 });
      expect(Array.from(venv.step([1, 1, 1, 1]).rewards)).toEqual([101, 101, 101, 101]);
    } finally {
      venv.close();
    }
  });

  it('fails fast and clearly at startup: unknown id, bad options, function wrappers', () => {
    expect(() => new WorkerVectorEnv({ id: 'NoSuchEnv-v0', numEnvs: 2, numWorkers: 1 })).toThrow(/a worker for "NoSuchEnv-v0" failed to start: unknown env id "NoSuchEnv-v0".*pass the module that registers it in `modules`/);
    expect(() => new WorkerVectorEnv({ id: 'TestCountdown-v0', numEnvs: 2, numWorkers: 1, modules: [fixtures], makeOptions: { length: -1 } })).toThrow(
      /^sub-env 0: make TestCountdown-v0: length: expected > 0, received -1$/,
    );
    expect(() => new WorkerVectorEnv({ id: 'CartPole-v1', numEnvs: 2, wrappers: [(e) => new TransformReward(e, (r) => r)] })).toThrow(
      /wrappers must be specs .* functions cannot cross threads/,
    );
  });

  it('reports a worker that exits instead of hanging', () => {
    const venv = new WorkerVectorEnv({ id: 'TestCountdown-v0', numEnvs: 2, numWorkers: 2, modules: [fixtures], makeOptions: { exitOnAction: 1 } });
    venv.reset({ seed: 0 });
    let caught: unknown;
    try {
      venv.step([0, 1]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(KairosError);
    expect((caught as KairosError).code).toBe('worker_exited');
    expect((caught as Error).message).toMatch(/the worker running sub-envs 1..1 exited during step/);
    expect(() => venv.step([0, 0])).toThrow(/closed/);
  });

  it('close() terminates the workers', async () => {
    const venv = new WorkerVectorEnv({ id: 'TestCountdown-v0', numEnvs: 3, modules: [fixtures] });
    expect(venv.numWorkers).toBe(Math.min(3, (await import('node:os')).availableParallelism()));
    venv.reset({ seed: 0 });
    venv.step([0, 0, 0]);
    venv.close();
    venv.close();
    // `closed` resolves once every thread has exited.
    await expect(Promise.race([venv.closed.then(() => 'exited'), new Promise((r) => setTimeout(() => r('timeout'), 5000).unref())])).resolves.toBe('exited');
    expect(process.getActiveResourcesInfo()).not.toContain('Worker');
    expect(() => venv.reset()).toThrow(/closed/);
  });

  // Workers and ports are unref'ed, so getActiveResourcesInfo() does not list them in this
  // process; a child process shows what keeps a process alive.
  const script = fileURLToPath(new URL('../../fixtures/unclosed-worker-env.ts', import.meta.url));
  const runChild = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('an un-closed worker env does not keep the process alive', () => {
    const res = runChild();
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('stepped');
    expect(res.status).toBe(0);
  });

  it('a closed worker env leaves no live handles behind', () => {
    const res = runChild('--close');
    expect(res.stderr).toBe('');
    const [stepped, resources] = res.stdout.trim().split('\n');
    expect(stepped).toBe('stepped');
    // Only the child's own stdio pipes remain.
    expect((JSON.parse(resources) as string[]).filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap')).toEqual([]);
    expect(res.status).toBe(0);
  });
});
