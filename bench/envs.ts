/**
 * `npm run bench:envs`: env steps per second through the public API.
 *
 * - single: one env from `make(id)` (with its default wrappers), actions drawn up front
 *   from the action space so the figure measures the env, not the policy.
 * - sync / worker: `makeVectorEnv` with N sub-envs in-process or in worker threads;
 *   the figure counts sub-env steps (N per `step` call).
 *
 * Peer figures: Gymnasium's CartPole-v1 runs at about 0.13 M steps/s on one core of this
 * class of machine (issue 2), LunarLander-v3 at roughly 10-20 k steps/s.
 * Targets: CartPole-v1 >= 5 M steps/s single-threaded, LunarLander-v3 >= 20 k.
 */
import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import '../src/envs/builtin.js';
import { listEnvs, make } from '../src/envs/registry.js';
import { makeVectorEnv } from '../src/envs/vector/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const seconds = Number(args.get('seconds') ?? 2);
const only = args.get('env');
const numEnvs = Number(args.get('num-envs') ?? 8);
const workers = Number(args.get('workers') ?? Math.min(2, os.availableParallelism()));

const TARGETS: Record<string, number> = { 'CartPole-v1': 5_000_000, 'LunarLander-v3': 20_000 };
const PEERS: Record<string, string> = {
  'CartPole-v1': 'Gymnasium ~130k/s',
  'LunarLander-v3': 'Gymnasium ~10-20k/s (approx.)',
};

let peakRss = process.memoryUsage().rss;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

/** A pool of pre-sampled actions, cycled through so sampling cost is not measured. */
function actionPool(space: { sample(rng: Rng): unknown }, n: number, seed: number): unknown[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => space.sample(rng));
}

function benchSingle(id: string): number {
  const env = make(id);
  const pool = actionPool(env.actionSpace, 4096, 1);
  env.reset({ seed: 0 });
  let steps = 0;
  let k = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  // Check the clock every 1024 steps so timing does not dominate cheap envs.
  while (performance.now() < deadline) {
    for (let i = 0; i < 1024; i++) {
      const r = env.step(pool[k++ & 4095]);
      if (r.terminated || r.truncated) env.reset();
    }
    steps += 1024;
  }
  const sps = steps / ((performance.now() - start) / 1000);
  sampleRss();
  env.close?.();
  return sps;
}

function benchVector(id: string, mode: 'sync' | 'worker'): number {
  const venv = makeVectorEnv(id, numEnvs, mode === 'worker' ? { mode, numWorkers: workers } : { mode });
  const single = make(id);
  const pool = actionPool(single.actionSpace, 256, 2);
  const discrete = typeof pool[0] === 'number';
  const actDim = discrete ? 1 : (pool[0] as Float32Array).length;
  const actions = discrete ? new Int32Array(numEnvs) : new Float32Array(numEnvs * actDim);
  venv.reset({ seed: 0 });
  let calls = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let j = 0; j < 16; j++) {
      for (let e = 0; e < numEnvs; e++) {
        const a = pool[(calls * numEnvs + e) & 255];
        if (discrete) actions[e] = a as number;
        else actions.set(a as Float32Array, e * actDim);
      }
      venv.step(actions);
      calls++;
    }
  }
  const sps = (calls * numEnvs) / ((performance.now() - start) / 1000);
  sampleRss();
  venv.close();
  return sps;
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const t0 = performance.now();
console.log(`bench:envs — ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, node ${process.version}, ${seconds}s per figure`);
console.log(`vector envs: ${numEnvs} sub-envs; worker mode uses ${workers} worker threads\n`);
const header = ['env', 'single (steps/s)', `sync x${numEnvs}`, `worker x${numEnvs}`, 'target', 'peer'];
const rows: string[][] = [];
let failed = false;
for (const { id } of listEnvs()) {
  if (only && id !== only) continue;
  const single = benchSingle(id);
  const sync = benchVector(id, 'sync');
  const worker = benchVector(id, 'worker');
  const target = TARGETS[id];
  if (target !== undefined && single < target) failed = true;
  rows.push([id, fmt(single), fmt(sync), fmt(worker), target ? `>= ${fmt(target)}${single >= target ? ' ok' : ' MISSED'}` : '-', PEERS[id] ?? '-']);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log(`\nwall time ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
process.exitCode = failed ? 1 : 0;
