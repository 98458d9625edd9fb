/**
 * Replay-buffer micro-benchmark: a 1,000,000-transition buffer for LunarLander (obsDim 8,
 * 4 discrete actions, no masks), uniform and prioritised.
 *
 * - add: transitions per second while filling the buffer once (validation included), from a
 *   pool of pre-built transitions so the figure measures the buffer, not the caller.
 * - sample: batches of 256 per second (and transitions per second) from the full buffer.
 * - PER: add, then sample(256) + updatePriorities(256) per second.
 * - memory: `byteLength` of the storage and the process's peak RSS.
 *
 * Peer figure: Stable-Baselines3's ReplayBuffer stores obs and next_obs as float32 as well
 * (64 B for LunarLander), plus an int64 action (8 B) and float32 reward, done and timeout
 * (12 B): 84 B per transition, 84 MB for a million (72 B of it obs, next_obs and action).
 * Kairos: 81 B (int32 action, float32 reward/discount/probability, uint8 terminal flag).
 *
 * Run: `npx tsx bench/replay-buffer.ts` (options: `--capacity=1000000`, `--seconds=1`, `--batch=256`).
 */
import { PrioritizedReplayBuffer } from '../src/agents/buffers/prioritized-replay-buffer.js';
import { ReplayBuffer } from '../src/agents/buffers/replay-buffer.js';
import type { TransitionBuffer, TransitionInput } from '../src/agents/buffers/types.js';
import { Rng } from '../src/core/rng.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const capacity = Number(args.get('capacity') ?? 1_000_000);
const seconds = Number(args.get('seconds') ?? 1);
const batch = Number(args.get('batch') ?? 256);
const layout = { obsDim: 8, action: { kind: 'discrete' as const, n: 4 } };
const SB3_BYTES = 84;

let peakRss = process.memoryUsage().rss;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const rate = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`);

/** 4096 distinct LunarLander-like transitions, cycled through. */
function pool(): TransitionInput[] {
  const rng = new Rng(0);
  return Array.from({ length: 4096 }, () => ({
    obs: Float32Array.from({ length: 8 }, () => rng.normal()),
    action: rng.int(4),
    reward: rng.normal(),
    nextObs: Float32Array.from({ length: 8 }, () => rng.normal()),
    terminated: rng.random() < 0.005,
    discount: 0.99,
    prob: 0.25,
  }));
}

function fill(buf: TransitionBuffer, ts: TransitionInput[]): number {
  const t0 = performance.now();
  for (let i = 0; i < capacity; i++) {
    buf.add(ts[i & 4095]);
    if ((i & 0xffff) === 0) sampleRss();
  }
  return capacity / ((performance.now() - t0) / 1000);
}

/** Calls `fn` in blocks of 64 for `seconds`; returns calls per second. */
function timed(fn: () => void): number {
  let calls = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  while (performance.now() < deadline) {
    for (let k = 0; k < 64; k++) fn();
    calls += 64;
  }
  sampleRss();
  return calls / ((performance.now() - t0) / 1000);
}

const ts = pool();
const rssBefore = process.memoryUsage().rss;
console.log(`Replay buffers, ${capacity.toLocaleString('en')} transitions, LunarLander layout (obsDim 8, 4 actions, no masks), batch ${batch}`);
console.log(`node ${process.version}, RSS before allocating ${mib(rssBefore)}`);

{
  let buf: ReplayBuffer | null = new ReplayBuffer({ capacity, ...layout });
  const addRate = fill(buf, ts);
  const rng = new Rng(1);
  const b = buf;
  const sampleRate = timed(() => b.sample(batch, rng));
  console.log('\nReplayBuffer (uniform)');
  console.log(`  add              ${rate(addRate)} transitions`);
  console.log(`  sample(${batch})      ${rate(sampleRate)} batches = ${rate(sampleRate * batch)} transitions`);
  console.log(`  byteLength       ${(buf.byteLength / 1e6).toFixed(1)} MB = ${(buf.byteLength / capacity).toFixed(1)} B/transition`);
  console.log(`  peak RSS         ${mib(peakRss)} (${mib(peakRss - rssBefore)} above the start)`);
  console.log(`  peer             SB3 ReplayBuffer ${SB3_BYTES} B/transition = ${((SB3_BYTES * capacity) / 1e6).toFixed(1)} MB (obs + next_obs float32, int64 action, float32 reward/done/timeout)`);
  buf = null;
}

{
  const buf = new PrioritizedReplayBuffer({ capacity, ...layout });
  const addRate = fill(buf, ts);
  const rng = new Rng(2);
  const td = Float32Array.from({ length: batch }, (_, i) => (i % 17) / 7);
  const sampleRate = timed(() => buf.sample(batch, rng));
  const cycleRate = timed(() => buf.updatePriorities(buf.sample(batch, rng).indices, td));
  console.log('\nPrioritizedReplayBuffer (sum tree)');
  console.log(`  add              ${rate(addRate)} transitions`);
  console.log(`  sample(${batch})      ${rate(sampleRate)} batches = ${rate(sampleRate * batch)} transitions`);
  console.log(`  sample + update  ${rate(cycleRate)} batches`);
  console.log(`  byteLength       ${(buf.byteLength / 1e6).toFixed(1)} MB (rows + two Float64 trees)`);
  console.log(`  peak RSS         ${mib(peakRss)} (process, both buffers; the uniform one may not be collected yet)`);
}
