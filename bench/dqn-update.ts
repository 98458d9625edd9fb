/**
 * DQN-update benchmark: the gradient step of a DQN agent, timed exactly as an agent runs it,
 * with Kairos's fused WASM kernels (default) and with plain tfjs ops (`setFusedKernels(false)`),
 * interleaved in blocks so machine-load drift hits both alike. Prints the peer figures of
 * issue 3 next to ours.
 *
 * One update = upload the sampled batch (obs, next obs, rewards, γ·(1 − done), actions)
 * → no-grad target: target net on next obs (Double DQN: online net on next obs picks the
 * action) → r + γ(1 − d)·Q' → online forward + backward of the Huber loss on Q(s, a) → Adam
 * → read the loss back. Batch sampling from the replay buffer is not timed. Three
 * implementations: everything fused (`Mlp`, `createOptimizer`'s Adam, `fusedTdTargets`,
 * `fusedTdLoss`); fused networks and Adam with the targets and loss in tfjs ops (what an
 * agent gets without changing its loss code); plain tfjs ops throughout (before).
 *
 * Sizes: 8-256-256-4 at batch 128 (PyTorch, one thread: ~3 ms per update) and the
 * Stable-Baselines3 CartPole preset, 4-256-256-2 at batch 64 (SB3: ~1,100 env steps/s on 2
 * cores with 0.5 gradient steps and one batch-1 action per env step, so an update has to stay
 * well under 1.8 ms). Also: batch-1 forward latency (acting) and a CartPole loop with that
 * preset (env step, act, replay write, an update every 2 steps), the closest single figure to
 * SB3's.
 *
 * Run: `npx tsx bench/dqn-update.ts` (options: `--seconds=3` per mode, `--loop-steps=20000`,
 * `--fma` for fused multiply-adds in the fused rows, which on Node 20 needs
 * `node --experimental-wasm-relaxed-simd --import tsx bench/dqn-update.ts --fma`).
 */
import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import '../src/envs/builtin.js';
import { make } from '../src/envs/registry.js';
import {
  Mlp,
  createOptimizer,
  fusedTdLoss,
  fusedTdTargets,
  initTensorBackend,
  isFusedKernelsEnabled,
  setFusedFma,
  setFusedKernels,
  tf,
  trainStep,
} from '../src/tensor/index.js';

// --- Settings --------------------------------------------------------------------------------
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
/** Seconds per mode and configuration (each mode gets about this much timed work). */
const SECONDS = Number(args.get('seconds') ?? 3);
/** Env steps in the CartPole loop measurement, after the learning-starts fill. */
const LOOP_STEPS = Number(args.get('loop-steps') ?? 20_000);
/** Untimed updates first (JIT warm-up, Adam slot creation). */
const WARMUP = 20;
/** Modes alternate in blocks of this many updates. */
const BLOCK = 10;
const MIN_UPDATES = 50;
const GAMMA = 0.99;
/** Replay pool the batches are sampled from. */
const POOL = 10_000;
const ACT_CALLS = 5_000;

interface Config {
  name: string;
  obs: number;
  hidden: number[];
  actions: number;
  batch: number;
  peer: string;
}

const CONFIGS: Config[] = [
  { name: '8-256-256-4, batch 128', obs: 8, hidden: [256, 256], actions: 4, batch: 128, peer: 'PyTorch 1 thread: ~3 ms (DQN)' },
  { name: '4-256-256-2, batch 64 (SB3 CartPole preset)', obs: 4, hidden: [256, 256], actions: 2, batch: 64, peer: 'SB3 budget: < 1.8 ms/update at 1,100 steps/s' },
];

let peakRss = process.memoryUsage().rss;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** One sampled batch, as the replay buffer hands it over. */
interface Batch {
  obs: Float32Array;
  next: Float32Array;
  actions: Int32Array;
  onehot: Float32Array;
  rewards: Float32Array;
  /** γ·(1 − done), for the tfjs-ops loss. */
  discounts: Float32Array;
  /** γ and done separately, for `fusedTdTargets`. */
  gammas: Float32Array;
  terminated: Float32Array;
}

function newBatch(B: number, obs: number, actions: number): Batch {
  return {
    obs: new Float32Array(B * obs),
    next: new Float32Array(B * obs),
    actions: new Int32Array(B),
    onehot: new Float32Array(B * actions),
    rewards: new Float32Array(B),
    discounts: new Float32Array(B),
    gammas: new Float32Array(B).fill(GAMMA),
    terminated: new Float32Array(B),
  };
}

/** A synthetic replay pool and a sampler that fills preallocated batch arrays. */
class Replay {
  readonly obs: Float32Array;
  readonly next: Float32Array;
  readonly actions: Int32Array;
  readonly rewards: Float32Array;
  readonly dones: Float32Array;

  constructor(
    readonly c: Config,
    readonly rng: Rng,
  ) {
    this.obs = Float32Array.from({ length: POOL * c.obs }, () => rng.normal());
    this.next = Float32Array.from({ length: POOL * c.obs }, () => rng.normal());
    this.actions = Int32Array.from({ length: POOL }, () => Math.floor(rng.uniform() * c.actions));
    this.rewards = Float32Array.from({ length: POOL }, () => rng.normal());
    this.dones = Float32Array.from({ length: POOL }, () => (rng.uniform() < 0.05 ? 1 : 0));
  }

  batch(): Batch {
    const c = this.c;
    return newBatch(c.batch, c.obs, c.actions);
  }

  sample(b: Batch): void {
    const c = this.c;
    b.onehot.fill(0);
    for (let i = 0; i < c.batch; i++) {
      const j = Math.floor(this.rng.uniform() * POOL);
      b.obs.set(this.obs.subarray(j * c.obs, (j + 1) * c.obs), i * c.obs);
      b.next.set(this.next.subarray(j * c.obs, (j + 1) * c.obs), i * c.obs);
      b.actions[i] = this.actions[j];
      b.onehot[i * c.actions + this.actions[j]] = 1;
      b.rewards[i] = this.rewards[j];
      b.discounts[i] = GAMMA * (1 - this.dones[j]);
      b.terminated[i] = this.dones[j];
    }
  }
}

/** Huber loss (δ = 1), mean over the batch: SB3's `smooth_l1_loss`. */
function huberMean(td: tf.Tensor): tf.Scalar {
  const a = tf.abs(td);
  const q = tf.minimum(a, 1);
  return tf.mean(tf.add(tf.mul(0.5, tf.square(q)), tf.sub(a, q))) as tf.Scalar;
}

/**
 * One DQN update on the sampled batch; returns the loss. `fusedLoss`: targets and Huber
 * loss through `fusedTdTargets` / `fusedTdLoss` (one kernel each) instead of tfjs ops.
 */
function dqnUpdate(c: Config, online: Mlp, target: Mlp, opt: tf.Optimizer, b: Batch, double: boolean, fusedLoss: boolean): number {
  const B = c.batch;
  const A = c.actions;
  if (fusedLoss) {
    const obs = tf.tensor2d(b.obs, [B, c.obs]);
    const actions = tf.tensor1d(b.actions, 'int32');
    const y = tf.tidy(() => {
      const next = tf.tensor2d(b.next, [B, c.obs]);
      const rewards = tf.tensor1d(b.rewards);
      return fusedTdTargets(target.apply(next), double ? online.apply(next) : null, rewards, tf.tensor1d(b.gammas), tf.tensor1d(b.terminated), null);
    });
    const { loss } = trainStep(opt, () => fusedTdLoss(online.apply(obs), actions, y).loss, online.trainableVariables);
    tf.dispose([obs, actions, y]);
    return loss;
  }
  const obs = tf.tensor2d(b.obs, [B, c.obs]);
  const onehot = tf.tensor2d(b.onehot, [B, A]);
  const y = tf.tidy(() => {
    const next = tf.tensor2d(b.next, [B, c.obs]);
    const qNext = target.apply(next);
    const boot = double
      ? tf.sum(tf.mul(qNext, tf.oneHot(tf.argMax(online.apply(next), 1), A)), 1)
      : tf.max(qNext, 1);
    return tf.add(tf.tensor1d(b.rewards), tf.mul(tf.tensor1d(b.discounts), boot));
  });
  const { loss } = trainStep(
    opt,
    () => huberMean(tf.sub(tf.sum(tf.mul(online.apply(obs), onehot), 1), y)),
    online.trainableVariables,
  );
  tf.dispose([obs, onehot, y]);
  return loss;
}

interface Row {
  config: string;
  mode: string;
  medianMs: number;
  p90Ms: number;
  /** Median over blocks of this process's CPU time per update (robust to a busy machine). */
  cpuMs: number;
  updates: number;
  peer: string;
}

/** Times fused vs plain tfjs on one configuration, DQN and Double DQN, interleaved. */
function benchUpdates(c: Config): Row[] {
  const rng = new Rng(0);
  const replay = new Replay(c, rng);
  const modes = [
    { fused: true, fusedLoss: true, double: false, label: 'fused nets + Adam + TD loss, DQN' },
    { fused: true, fusedLoss: true, double: true, label: 'fused nets + Adam + TD loss, Double DQN' },
    { fused: true, fusedLoss: false, double: false, label: 'fused nets + Adam, loss in tfjs ops, DQN' },
    { fused: true, fusedLoss: false, double: true, label: 'fused nets + Adam, loss in tfjs ops, Double DQN' },
    { fused: false, fusedLoss: false, double: false, label: 'plain tfjs ops (before), DQN' },
    { fused: false, fusedLoss: false, double: true, label: 'plain tfjs ops (before), Double DQN' },
  ];
  // One online/target pair per mode, same seeds, so every mode trains the same way.
  const nets = modes.map(() => {
    const online = new Mlp({ inputSize: c.obs, hiddenSizes: c.hidden, outputSize: c.actions, seed: 1 });
    const target = new Mlp({ inputSize: c.obs, hiddenSizes: c.hidden, outputSize: c.actions, seed: 2 });
    target.copyFrom(online);
    return { online, target, opt: createOptimizer({ type: 'adam', learningRate: 1e-4 }) };
  });
  const batches = Array.from({ length: BLOCK }, () => replay.batch());
  /** A block of BLOCK updates on freshly sampled batches; sampling is not timed. */
  const block = (i: number, times: number[], cpu: number[]) => {
    setFusedKernels(modes[i].fused);
    for (const b of batches) replay.sample(b);
    const c0 = process.cpuUsage();
    for (const b of batches) {
      const t0 = performance.now();
      dqnUpdate(c, nets[i].online, nets[i].target, nets[i].opt, b, modes[i].double, modes[i].fusedLoss);
      times.push(performance.now() - t0);
    }
    const used = process.cpuUsage(c0);
    cpu.push((used.user + used.system) / 1000 / BLOCK);
  };
  for (let i = 0; i < modes.length; i++) for (let k = 0; k < WARMUP / BLOCK; k++) block(i, [], []);
  const before = tf.memory().numTensors;
  const times: number[][] = modes.map(() => []);
  const cpu: number[][] = modes.map(() => []);
  const deadline = performance.now() + SECONDS * 1000 * modes.length;
  while (times.some((t) => t.length < MIN_UPDATES) || performance.now() < deadline) {
    for (let i = 0; i < modes.length; i++) {
      block(i, times[i], cpu[i]);
      sampleRss();
    }
  }
  setFusedKernels(true);
  if (tf.memory().numTensors !== before) throw new Error(`${c.name}: tensors leaked (${before} -> ${tf.memory().numTensors})`);
  for (const n of nets) {
    n.online.dispose();
    n.target.dispose();
    n.opt.dispose();
  }
  return modes.map((m, i) => {
    const t = times[i].sort((a, b) => a - b);
    const u = cpu[i].sort((a, b) => a - b);
    return { config: c.name, mode: m.label, medianMs: quantile(t, 0.5), p90Ms: quantile(t, 0.9), cpuMs: quantile(u, 0.5), updates: t.length, peer: c.peer };
  });
}

/** Batch-1 forward latency: `predict` (fused: no tensors) vs `apply` + `dataSync`. */
function benchActing(c: Config): Array<{ config: string; mode: string; medianUs: number; p90Us: number }> {
  const net = new Mlp({ inputSize: c.obs, hiddenSizes: c.hidden, outputSize: c.actions, seed: 1 });
  const obs = new Float32Array(c.obs).fill(0.1);
  const modes = [
    { label: 'Mlp.predict, fused', f: () => net.predict(obs), fused: true },
    { label: 'Mlp.predict, plain tfjs ops', f: () => net.predict(obs), fused: false },
  ];
  const out = modes.map((m) => {
    setFusedKernels(m.fused);
    for (let i = 0; i < 200; i++) m.f();
    const t: number[] = [];
    for (let i = 0; i < ACT_CALLS; i++) {
      const t0 = performance.now();
      m.f();
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    return { config: `${c.obs}-${c.hidden.join('-')}-${c.actions}`, mode: m.label, medianUs: 1000 * quantile(t, 0.5), p90Us: 1000 * quantile(t, 0.9) };
  });
  setFusedKernels(true);
  net.dispose();
  return out;
}

/**
 * The SB3 CartPole preset as a loop: CartPole-v1, ε-greedy acting with `predict` at batch 1,
 * a ring-buffer replay, one DQN update of batch 64 every 2 env steps after 1,000 steps,
 * target copy every 10 updates. Returns env steps per second after the fill.
 */
function benchLoop(fused: boolean): { sps: number; cpuSps: number } {
  setFusedKernels(fused);
  const c = CONFIGS[1];
  const rng = new Rng(3);
  const env = make('CartPole-v1');
  const online = new Mlp({ inputSize: c.obs, hiddenSizes: c.hidden, outputSize: c.actions, seed: 1 });
  const target = new Mlp({ inputSize: c.obs, hiddenSizes: c.hidden, outputSize: c.actions, seed: 2 });
  target.copyFrom(online);
  const opt = createOptimizer({ type: 'adam', learningRate: 2.3e-3 });
  const cap = 100_000;
  const buf = { obs: new Float32Array(cap * 4), next: new Float32Array(cap * 4), a: new Int32Array(cap), r: new Float32Array(cap), d: new Float32Array(cap) };
  const b = newBatch(c.batch, 4, 2);
  let size = 0;
  let pos = 0;
  let obs = env.reset({ seed: 0 }).observation as Float32Array;
  let updates = 0;
  const step = (learn: boolean) => {
    let a: number;
    if (rng.uniform() < 0.05) a = Math.floor(rng.uniform() * 2);
    else {
      const q = online.predict(obs);
      a = q[1] > q[0] ? 1 : 0;
    }
    const r = env.step(a);
    const next = r.observation as Float32Array;
    buf.obs.set(obs, pos * 4);
    buf.next.set(next, pos * 4);
    buf.a[pos] = a;
    buf.r[pos] = r.reward;
    buf.d[pos] = r.terminated ? 1 : 0;
    pos = (pos + 1) % cap;
    size = Math.min(size + 1, cap);
    obs = r.terminated || r.truncated ? (env.reset().observation as Float32Array) : next;
    if (learn && pos % 2 === 0) {
      b.onehot.fill(0);
      for (let i = 0; i < c.batch; i++) {
        const j = Math.floor(rng.uniform() * size);
        b.obs.set(buf.obs.subarray(j * 4, j * 4 + 4), i * 4);
        b.next.set(buf.next.subarray(j * 4, j * 4 + 4), i * 4);
        b.actions[i] = buf.a[j];
        b.onehot[i * 2 + buf.a[j]] = 1;
        b.rewards[i] = buf.r[j];
        b.discounts[i] = GAMMA * (1 - buf.d[j]);
        b.terminated[i] = buf.d[j];
      }
      dqnUpdate(c, online, target, opt, b, false, fused);
      if (++updates % 10 === 0) target.copyFrom(online);
    }
  };
  for (let i = 0; i < 1000; i++) step(false);
  for (let i = 0; i < 200; i++) step(true);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < LOOP_STEPS; i++) step(true);
  const used = process.cpuUsage(c0);
  const sps = LOOP_STEPS / ((performance.now() - t0) / 1000);
  const cpuSps = LOOP_STEPS / ((used.user + used.system) / 1e6);
  sampleRss();
  online.dispose();
  target.dispose();
  opt.dispose();
  env.close?.();
  setFusedKernels(true);
  return { sps, cpuSps };
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((s, i) => s.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0];
  const fma = args.has('fma') && setFusedFma(true);
  if (args.has('fma') && !fma) console.warn('--fma: this runtime has no relaxed SIMD (Node 20: run node with --experimental-wasm-relaxed-simd); measuring without');
  const info = await initTensorBackend();
  if (!info.fusedKernels) console.warn('fused kernels unavailable: fused rows measure plain tfjs ops');
  const rows = CONFIGS.flatMap((c) => benchUpdates(c));
  const acting = CONFIGS.flatMap((c) => benchActing(c));
  const loop = { fused: benchLoop(true), plain: benchLoop(false) };

  console.log(`\nDQN update (upload batch, no-grad targets, forward + backward of the Huber loss, Adam, loss read-back)\n`);
  table(
    ['network, batch', 'implementation', 'ms/update (median)', 'p90 ms', 'CPU ms/update', 'updates/s', 'updates timed', 'peer'],
    rows.map((r) => [r.config, r.mode, r.medianMs.toFixed(2), r.p90Ms.toFixed(2), r.cpuMs.toFixed(2), (1000 / r.medianMs).toFixed(0), String(r.updates), r.peer]),
  );
  console.log('(CPU ms/update: this process\'s CPU time per update, median over blocks; on a busy machine it stays near the idle wall-clock figure while wall-clock grows.)');
  console.log(`\nActing: batch-1 forward, observation in, Q-values out (Float32Array)\n`);
  table(
    ['network', 'implementation', 'median µs', 'p90 µs', 'calls/s'],
    acting.map((a) => [a.config, a.mode, a.medianUs.toFixed(1), a.p90Us.toFixed(1), (1e6 / a.medianUs).toFixed(0)]),
  );
  console.log(`\nCartPole-v1 loop, SB3 preset (4-256-256-2, batch 64, an update every 2 env steps, batch-1 acting)\n`);
  table(
    ['implementation', 'env steps/s (wall)', 'env steps per CPU-second', 'peer'],
    [
      ['Kairos fused', loop.fused.sps.toFixed(0), loop.fused.cpuSps.toFixed(0), 'SB3 on 2 cores: ~1,100 steps/s'],
      ['plain tfjs ops', loop.plain.sps.toFixed(0), loop.plain.cpuSps.toFixed(0), ''],
    ],
  );
  sampleRss();
  console.log(
    `\nPeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (whole process). Fused kernels: ${info.fusedKernels && isFusedKernelsEnabled() ? 'on' : 'off'}, FMA: ${fma ? 'on' : 'off'}.`,
  );
  console.log(
    `Machine: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadBefore.toFixed(2)} before / ${os.loadavg()[0].toFixed(2)} after, Node ${process.version}, tfjs-core ${tf.version_core}, backend ${info.backend}`,
  );
}

await main();
