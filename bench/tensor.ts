/**
 * Tensor-layer benchmark: one DQN-sized training step (MLP 8-256-256-4, batch 128, Adam,
 * MSE to random targets; forward + backward + Adam update + one loss read-back) with
 * Kairos's fused WASM kernels (the default: `Mlp` and `createOptimizer` use them), and with
 * plain tfjs ops and Kairos's explicit-transpose matMul gradient ON vs OFF, on WASM and (for
 * reference) CPU, plus batch-1 forward latency (acting). Prints a table and the peer figure.
 * The whole DQN update (target network, Huber loss) is timed by `bench/dqn-update.ts`.
 *
 * Run: `npx tsx bench/tensor.ts` (or `npm run bench:tensor`).
 */
import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import {
  Mlp,
  createOptimizer,
  initTensorBackend,
  setFastMatMulGrad,
  setFusedKernels,
  type TensorBackendName,
  tf,
  trainStep,
} from '../src/tensor/index.js';

// --- Settings --------------------------------------------------------------------------------
/** Network and batch: the DQN-sized update the peer figure refers to. */
const INPUT = 8;
const HIDDEN = [256, 256];
const OUTPUT = 4;
const BATCH = 128;
/** Untimed steps first: XNNPACK set-up, Adam slot creation, JIT warm-up. */
const WARMUP_STEPS = 15;
/** Each mode runs about this many seconds (or MAX_STEPS), at least MIN_STEPS. */
const SECONDS_PER_CONFIG = 4;
const MIN_STEPS = 20;
const MAX_STEPS = 400;
/** ON and OFF alternate in blocks of this many steps. */
const BLOCK = 5;
const ACT_CALLS = 2000;
const PEER = 'PyTorch, one thread: ~3 ms per DQN-sized update of an 8-256-256-4 net at batch 128';

interface Row {
  label: string;
  backend: TensorBackendName;
  fast: boolean;
  medianMs: number;
  p90Ms: number;
  steps: number;
  peakRssMb: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function randomTensor(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return tf.tensor(v, shape);
}

type Forward = (net: Mlp, x: tf.Tensor2D) => tf.Tensor2D;

/** Kairos layers: tf.matMul + tf.add + activation. */
const plainForward: Forward = (net, x) => net.apply(x);

/**
 * The same network through `tf.fused.matMul` (linear activation, so tfjs takes the fused path
 * under a gradient tape too): its backward pass is a customGrad closure calling matMul with
 * transpose flags, which the registered BatchMatMul gradient cannot replace.
 */
const fusedForward: Forward = (net, x) =>
  tf.tidy(() => {
    let h: tf.Tensor2D = x;
    net.layers.forEach((layer, i) => {
      h = tf.fused.matMul({ a: h, b: layer.kernel as tf.Tensor2D, bias: layer.bias ?? undefined, activation: 'linear' }) as tf.Tensor2D;
      if (i + 1 < net.layers.length) h = tf.relu(h) as tf.Tensor2D;
    });
    return h;
  });

/**
 * Times training steps with the override ON and OFF in alternating blocks on one network,
 * so drift in machine load (shared CI boxes) hits both modes alike. Returns a row per mode.
 */
async function benchTraining(backend: TensorBackendName, forward: Forward, label: string, modes: boolean[], fused = false): Promise<Row[]> {
  await initTensorBackend({ backend });
  const rng = new Rng(0);
  // `fused: false` keeps the layer-by-layer tfjs path (and tfjs's Adam) these rows measure.
  const net = new Mlp({ inputSize: INPUT, hiddenSizes: HIDDEN, outputSize: OUTPUT, activation: 'relu', seed: 1, fused });
  const opt = createOptimizer({ type: 'adam', learningRate: 1e-3, fused });
  const x = randomTensor([BATCH, INPUT], rng) as tf.Tensor2D;
  const y = randomTensor([BATCH, OUTPUT], rng);
  const loss = () => tf.mean(tf.square(tf.sub(forward(net, x), y))) as tf.Scalar;
  // trainStep reads the loss back once (dataSync), which is part of the timed step.
  const step = () => void trainStep(opt, loss, net.trainableVariables);
  for (const fast of modes) {
    setFastMatMulGrad(fast);
    for (let i = 0; i < WARMUP_STEPS; i++) step();
  }
  const tensorsBefore = tf.memory().numTensors;
  const times = new Map<boolean, number[]>(modes.map((m) => [m, []]));
  const peak = new Map<boolean, number>(modes.map((m) => [m, 0]));
  const deadline = performance.now() + SECONDS_PER_CONFIG * 1000 * modes.length;
  const done = () => [...times.values()].every((t) => t.length >= MIN_STEPS) && (performance.now() > deadline || [...times.values()].some((t) => t.length >= MAX_STEPS));
  while (!done()) {
    for (const fast of modes) {
      setFastMatMulGrad(fast);
      const t = times.get(fast) as number[];
      for (let i = 0; i < BLOCK; i++) {
        const t0 = performance.now();
        step();
        t.push(performance.now() - t0);
        peak.set(fast, Math.max(peak.get(fast) as number, process.memoryUsage().rss));
      }
    }
  }
  if (tf.memory().numTensors !== tensorsBefore) throw new Error(`${label}: tensors leaked`);
  opt.dispose();
  net.dispose();
  tf.dispose([x, y]);
  setFastMatMulGrad(true);
  return modes.map((fast) => {
    const t = (times.get(fast) as number[]).sort((a, b) => a - b);
    return {
      label: fused ? label : `${label}, matMul grad override ${fast ? 'ON' : 'OFF'}`,
      backend,
      fast,
      medianMs: quantile(t, 0.5),
      p90Ms: quantile(t, 0.9),
      steps: t.length,
      peakRssMb: (peak.get(fast) as number) / 2 ** 20,
    };
  });
}

async function benchActing(backend: TensorBackendName, fused: boolean): Promise<{ backend: string; medianUs: number; p90Us: number }> {
  await initTensorBackend({ backend });
  const net = new Mlp({ inputSize: INPUT, hiddenSizes: HIDDEN, outputSize: OUTPUT, seed: 1, fused });
  const obs = new Float32Array(INPUT).fill(0.1);
  // One act = observation in, Q-values out: `predict` (fused: no tensors at all), or
  // observation to tensor, forward, read the Q-values back.
  const act = fused
    ? () => void net.predict(obs)
    : () => {
        const q = tf.tidy(() => net.apply(tf.tensor2d(obs, [1, INPUT])));
        q.dataSync();
        q.dispose();
      };
  for (let i = 0; i < 100; i++) act();
  const times: number[] = [];
  for (let i = 0; i < (backend === 'cpu' ? ACT_CALLS / 4 : ACT_CALLS); i++) {
    const t0 = performance.now();
    act();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  net.dispose();
  const how = fused ? 'Mlp.predict (fused)' : 'tensor2d + apply + dataSync';
  return { backend: `${backend}, ${how}`, medianUs: 1000 * quantile(times, 0.5), p90Us: 1000 * quantile(times, 0.9) };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  rows.push(...(await benchTraining('wasm', plainForward, 'wasm, Kairos fused kernels (default)', [true], true)));
  for (const backend of ['wasm', 'cpu'] as const) rows.push(...(await benchTraining(backend, plainForward, `${backend}, tfjs ops`, [true, false])));
  setFusedKernels(false); // tf.fused.matMul layers with tfjs's Adam
  rows.push(...(await benchTraining('wasm', fusedForward, 'wasm with tf.fused.matMul layers', [true])));
  setFusedKernels(true);
  const acting = [await benchActing('wasm', true), await benchActing('wasm', false), await benchActing('cpu', false)];
  setFastMatMulGrad(true);

  const off = (b: string) => rows.find((r) => r.backend === b && !r.fast && r.label.includes('tfjs ops'));
  const header = ['configuration', 'ms/step (median)', 'p90 ms', 'steps/s', 'speedup vs tfjs ops OFF', 'peak RSS MB', 'steps timed'];
  const table = rows.map((r) => {
    const base = off(r.backend);
    // Speed-up against the same backend's tfjs ops with the override OFF (the stock gradient).
    const speedup = base ? `${(base.medianMs / r.medianMs).toFixed(2)}x` : '-';
    return [r.label, r.medianMs.toFixed(2), r.p90Ms.toFixed(2), (1000 / r.medianMs).toFixed(0), speedup, r.peakRssMb.toFixed(0), String(r.steps)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => pad(c, widths[i])).join(' | ')} |`;
  console.log(`\nTraining step: MLP ${INPUT}-${HIDDEN.join('-')}-${OUTPUT}, batch ${BATCH}, Adam, MSE (forward + backward + update + loss read-back)\n`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const t of table) console.log(line(t));
  console.log(`\nActing: batch-1 forward, observation in, Q-values out\n`);
  console.log('| backend, call | median µs | p90 µs | calls/s |');
  console.log('| ------------- | --------- | ------ | ------- |');
  for (const a of acting) console.log(`| ${a.backend} | ${a.medianUs.toFixed(0)} | ${a.p90Us.toFixed(0)} | ${(1e6 / a.medianUs).toFixed(0)} |`);
  console.log(`\nPeer: ${PEER}`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Machine: ${os.availableParallelism()} cores (${cpu}), load ${os.loadavg()[0].toFixed(2)}, Node ${process.version}, tfjs-core ${tf.version_core}, WASM SIMD yes, threads no`,
  );
}

await main();
