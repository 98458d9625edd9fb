/**
 * DQN benchmarks (issue 3).
 *
 *   npx tsx bench/dqn.ts converge --env CartPole-v1 [--seeds 0,1,2,3,4] [--steps 50000] [--parallel 2] [--config '{...}']
 *   npx tsx bench/dqn.ts speed
 *
 * `converge` trains one run per seed (child processes, `--parallel` at a time) with the
 * env's preset, evaluating the greedy policy on 100 episodes every `--eval-every` steps
 * (default 5,000) and at the end. The run keeps the best-evaluated policy (SB3's EvalCallback
 * best model); since picking the best of several evaluations flatters it, that policy is
 * evaluated again on 100 fresh episode seeds, and the threshold is judged on this fresh
 * figure. Prints, per seed, the final and the best policy's returns, wall time, steps/s and
 * peak RSS, then how many seeds reached the threshold.
 * `speed` times the whole loop on the CartPole preset (256-256 net, batch 64) and one
 * gradient update of an 8-256-256-4 net at batch 128, next to the Stable-Baselines3 and
 * PyTorch figures quoted in the issue.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/agents/builtin.js';
import { DqnAgent } from '../src/agents/dqn/dqn.js';
import { DQN_PRESETS } from '../src/agents/dqn/presets.js';
import { Box, Discrete } from '../src/core/spaces.js';
import { initTensorBackend, isFusedFma, preferFusedFma } from '../src/tensor/index.js';
import { evaluateAgent } from '../src/train/evaluate.js';
import { envFactoryFor, loadRunAgent, startRun, type RunSummary } from '../src/train/run.js';

const THRESHOLDS: Record<string, number> = { 'CartPole-v1': 475, 'LunarLander-v3': 200 };
const PEER_LOOP = 'Stable-Baselines3 DQN, CartPole preset (256-256, batch 64), 2-core CPU: ~1,100 steps/s';
const PEER_UPDATE = 'PyTorch, one thread: ~3 ms per DQN update of an 8-256-256-4 net at batch 128';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Episode seeds of the fresh re-evaluation (training evaluations use 0..99 by default). */
const FRESH_EVAL_SEED = 1_000_000;

interface WorkerResult {
  seed: number;
  summary: RunSummary;
  /** The best policy's mean and std return on 100 fresh episodes. */
  fresh: { meanReturn: number; stdReturn: number };
  peakRssMb: number;
}

async function worker(): Promise<void> {
  const job = JSON.parse(process.argv[3]) as { env: string; seed: number; steps?: number; evalEvery: number; config: Record<string, unknown> };
  preferFusedFma(); // as `kairos train`
  await initTensorBackend();
  const preset = DQN_PRESETS[job.env];
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), `kairos-bench-dqn-${job.seed}-`));
  try {
    const summary = await startRun(
      {
        algorithm: 'dqn',
        env: { id: job.env },
        totalSteps: job.steps ?? preset?.totalSteps ?? 100_000,
        seed: job.seed,
        config: { ...(preset?.config ?? {}), ...job.config },
        evalEvery: job.evalEvery,
        evalEpisodes: 100,
        finalEvalEpisodes: 100,
        checkpointEvery: 0,
        checkpointReplay: false,
      },
      { runDir },
    );
    const best = await loadRunAgent(runDir, { model: 'best' });
    const r = evaluateAgent(best, envFactoryFor({ env: { id: job.env, options: {} } }), { episodes: 100, seed: FRESH_EVAL_SEED });
    best.dispose();
    const result: WorkerResult = { seed: job.seed, summary, fresh: { meanReturn: r.meanReturn, stdReturn: r.stdReturn }, peakRssMb: process.resourceUsage().maxRSS / 1024 };
    process.send?.(result);
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
}

async function converge(): Promise<void> {
  const env = arg('env', 'CartPole-v1') as string;
  const seeds = (arg('seeds', '0,1,2,3,4') as string).split(',').map(Number);
  const steps = arg('steps') ? Number(arg('steps')) : undefined;
  const parallel = Number(arg('parallel', '2'));
  const evalEvery = Number(arg('eval-every', '5000'));
  const config = JSON.parse(arg('config', '{}') as string) as Record<string, unknown>;
  const threshold = THRESHOLDS[env] ?? Number.POSITIVE_INFINITY;
  const self = fileURLToPath(import.meta.url);
  const t0 = performance.now();
  const results: WorkerResult[] = [];
  const queue = [...seeds];
  const runOne = (seed: number): Promise<WorkerResult> =>
    new Promise((resolve, reject) => {
      const child = fork(self, ['worker', JSON.stringify({ env, seed, steps, evalEvery, config })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let got: WorkerResult | null = null;
      child.on('message', (m) => (got = m as WorkerResult));
      child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`seed ${seed}: worker exited with ${code}`))));
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
        const r = await runOne(s);
        results.push(r);
        const e = r.summary.finalEvaluation;
        const b = r.summary.bestEvaluation;
        console.log(
          `seed ${r.seed}: final ${e?.meanReturn.toFixed(1)} ± ${e?.stdReturn.toFixed(1)} | best at step ${b?.step}: ${b?.meanReturn.toFixed(1)}, on fresh seeds ${r.fresh.meanReturn.toFixed(1)} ± ${r.fresh.stdReturn.toFixed(1)} (100 episodes each) | ${r.summary.steps} steps in ${r.summary.seconds.toFixed(1)} s = ${r.summary.sps.toFixed(0)} steps/s | peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        );
      }
    }),
  );
  results.sort((a, b) => a.seed - b.seed);
  const passed = results.filter((r) => r.fresh.meanReturn >= threshold).length;
  const passedFinal = results.filter((r) => (r.summary.finalEvaluation?.meanReturn ?? -Infinity) >= threshold).length;
  console.log(`\n${env}: ${passed} of ${results.length} seeds' best policies reached mean return >= ${threshold} on fresh seeds within ${results[0]?.summary.totalSteps} steps (final policy: ${passedFinal} of ${results.length})`);
  console.log(`best, fresh seeds: ${results.map((r) => r.fresh.meanReturn.toFixed(1)).join(', ')}`);
  console.log(`final:             ${results.map((r) => r.summary.finalEvaluation?.meanReturn.toFixed(1)).join(', ')}`);
  console.log(`wall ${(((performance.now() - t0) / 1000)).toFixed(0)} s with ${parallel} parallel runs on ${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function speed(): Promise<void> {
  preferFusedFma(); // as the CLI does; KAIROS_FMA=0 for the bit-identical path
  const info = await initTensorBackend();
  console.log(`backend ${info.backend}, fused multiply-add ${isFusedFma() ? 'on' : 'off'}; ${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}\n`);
  // 1. Whole loop on the CartPole preset (no evaluation, no checkpoints).
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-bench-dqn-speed-'));
  const steps = Number(arg('steps', '20000'));
  try {
    const s = await startRun(
      { algorithm: 'dqn', env: { id: 'CartPole-v1' }, totalSteps: steps, seed: 0, config: DQN_PRESETS['CartPole-v1'].config, evalEvery: 0, finalEvalEpisodes: 0, checkpointEvery: 0, checkpointReplay: false },
      { runDir },
    );
    console.log(`whole loop, CartPole preset (256-256, batch 64, 128 updates per 256 steps), ${steps} steps: ${s.sps.toFixed(0)} steps/s (${s.seconds.toFixed(1)} s)`);
    console.log(`  peer: ${PEER_LOOP}`);
  } finally {
    await fs.rm(runDir, { recursive: true, force: true });
  }
  // 2. One gradient update alone, and batch-1 acting.
  for (const [obsDim, A, B] of [
    [8, 4, 128],
    [4, 2, 64],
  ]) {
    const agent = new DqnAgent({
      observationSpace: new Box(-1, 1, [obsDim]),
      actionSpace: new Discrete(A),
      config: { learningStarts: 1e9, batchSize: B, bufferSize: 10_000, network: { hiddenSizes: [256, 256] } },
      seed: 0,
    });
    const obs = new Float32Array(obsDim).map((_, i) => Math.sin(i));
    for (let k = 0; k < 2000; k++) {
      agent.observe(
        {
          n: 1,
          obs,
          actions: Int32Array.from([k % A]),
          probs: Float64Array.from([1]),
          rewards: Float64Array.from([1]),
          nextObs: obs,
          terminated: Uint8Array.from([0]),
          truncated: Uint8Array.from([0]),
          nextMasks: null,
        },
        { step: k + 1, totalSteps: 1e9 },
      );
    }
    const update = (agent as unknown as { update(): unknown }).update.bind(agent);
    for (let i = 0; i < 20; i++) update();
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      update();
      times.push(performance.now() - t);
    }
    const acts: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      agent.act(obs, 1, { deterministic: true });
      acts.push(performance.now() - t);
    }
    console.log(`DQN update ${obsDim}-256-256-${A}, batch ${B} (online fwd+bwd, target fwd, Adam): median ${median(times).toFixed(2)} ms | act batch 1: median ${(median(acts) * 1000).toFixed(0)} µs`);
    agent.dispose();
  }
  console.log(`  peer: ${PEER_UPDATE}`);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

const mode = process.argv[2];
if (mode === 'worker') await worker();
else if (mode === 'converge') await converge();
else if (mode === 'speed') await speed();
else {
  console.error('usage: npx tsx bench/dqn.ts converge --env <id> [--seeds 0,1,2,3,4] [--steps N] [--parallel 2] | speed');
  process.exit(2);
}
