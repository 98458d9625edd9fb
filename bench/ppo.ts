/**
 * Policy-gradient benchmarks (issue 4).
 *
 *   npx tsx bench/ppo.ts converge --env CartPole-v1 [--algo ppo|a2c|reinforce] [--seeds 0,1,2,3,4] [--steps N] [--parallel 2] [--config '{...}']
 *   npx tsx bench/ppo.ts speed [--steps 30000]
 *   npx tsx bench/ppo.ts offpolicy [--seeds 0,...,9] [--log 3000] [--epochs 10]
 *   npx tsx bench/ppo.ts slate [--seeds 0,1,2] [--log 10000] [--epochs 10]
 *
 * `converge` is `bench/converge.ts` with PPO as the default algorithm and issue 4's
 * thresholds (CartPole-v1 475, LunarLander-v3 200, Pendulum-v1 −250): one run per seed with
 * the env's preset, periodic 100-episode evaluations, the best policy re-evaluated on fresh
 * seeds.
 * `speed` times the whole loop of PPO on CartPole with the preset (8 envs, 32 steps, 20
 * epochs of one 256-sample batch) and with SB3's default settings (1 env, 2048 steps, batch
 * 64, 10 epochs, the setting of the Stable-Baselines3 figure), each with tanh (SB3's
 * default) and ReLU hidden layers, next to the Stable-Baselines3 figure quoted in the issue.
 * `offpolicy` runs off-policy REINFORCE on logged data of a synthetic contextual bandit with
 * a known behaviour policy (`ope/synthetic.ts`: exact policy values), for several data
 * seeds, with and without importance-weight clamping, and reports the behaviour's value, the
 * learned policies' true values (mean ± std over seeds) and the spread of the weights.
 * `slate` trains the pointer-network slate policy off-policy on the synthetic ranking task
 * and reports its value against the logging policy and the best ranking.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import '../src/agents/builtin.js';
import { PpoAgent } from '../src/agents/pg/ppo.js';
import { makeRankingTask } from '../src/agents/pg/ranking-task.js';
import { ReinforceAgent, banditEpisodes, type ReinforceConfig } from '../src/agents/pg/reinforce.js';
import { SlatePolicy, SlateTrainer } from '../src/agents/pg/slate.js';
import { getAgentRegistration } from '../src/agents/registry.js';
import { Rng } from '../src/core/rng.js';
import { Box, Discrete } from '../src/core/spaces.js';
import { makeSyntheticBandit } from '../src/ope/synthetic.js';
import { initTensorBackend } from '../src/tensor/index.js';
import { startRun } from '../src/train/run.js';
import { convergeCli } from './converge.js';

/** Issue 4's thresholds (Pendulum-v1: −250 for PPO). */
const PPO_THRESHOLDS: Record<string, number> = { 'CartPole-v1': 475, 'LunarLander-v3': 200, 'Pendulum-v1': -250 };
const PEER_SPEED = 'Stable-Baselines3 PPO, default settings, CartPole-v1, this class of machine: ~2,500 steps/s (issue 4)';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const seedsArg = (fallback: string) => (arg('seeds', fallback) as string).split(',').map(Number);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const machine = () => `${os.cpus().length} x ${os.cpus()[0]?.model}; node ${process.version}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function speed(): Promise<void> {
  const info = await initTensorBackend();
  console.log(`backend ${info.backend} (fused kernels: ${info.fusedKernels}); ${machine()}\n`);
  const steps = Number(arg('steps', '30000'));
  const preset = getAgentRegistration('ppo').presets?.['CartPole-v1'];
  const variants: Array<[string, number, Record<string, unknown>]> = [
    ['preset (8 envs x 32 steps, 20 epochs of batch 256), tanh', 8, { ...preset?.config }],
    ['preset, ReLU hidden layers', 8, { ...preset?.config, network: { activation: 'relu' } }],
    ['SB3 defaults (1 env x 2048 steps, 10 epochs of batch 64), tanh', 1, {}],
    ['SB3 defaults, ReLU hidden layers', 1, { network: { activation: 'relu' } }],
  ];
  for (const [name, numEnvs, config] of variants) {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'kairos-bench-ppo-speed-'));
    try {
      const s = await startRun({ algorithm: 'ppo', env: { id: 'CartPole-v1' }, numEnvs, totalSteps: steps, seed: 0, config, evalEvery: 0, finalEvalEpisodes: 0, checkpointEvery: 0, checkpointReplay: false }, { runDir });
      console.log(`whole loop, PPO CartPole, ${name}, ${steps} steps: ${s.sps.toFixed(0)} steps/s (${s.seconds.toFixed(1)} s)`);
    } finally {
      await fs.rm(runDir, { recursive: true, force: true });
    }
  }
  console.log(`  peer: ${PEER_SPEED}\n`);
  // One gradient step (policy + value, both 64-64) at batch 64 and 256, and acting on 8 envs.
  for (const activation of ['tanh', 'relu'] as const) {
    for (const batch of [64, 256]) {
      const agent = new PpoAgent({ observationSpace: new Box(-1, 1, [4]), actionSpace: new Discrete(2), config: { nSteps: batch, batchSize: batch, nEpochs: 1, network: { activation } }, seed: 0 });
      const obs = new Float32Array(4).map((_, i) => Math.sin(i));
      const times: number[] = [];
      for (let k = 0; k < batch * 40; k++) {
        const r = agent.act(obs, 1);
        const t = performance.now();
        const m = agent.observe({ n: 1, obs, actions: r.actions, probs: r.probs, rewards: Float64Array.of(1), nextObs: obs, terminated: Uint8Array.of(0), truncated: Uint8Array.of(0), nextMasks: null }, { step: k + 1, totalSteps: 1e9 });
        if (m && k > batch * 5) times.push(performance.now() - t);
      }
      const acts: number[] = [];
      const obs8 = new Float32Array(32).map((_, i) => Math.sin(i));
      for (let i = 0; i < 3000; i++) {
        const t = performance.now();
        agent.act(obs8, 8);
        acts.push(performance.now() - t);
      }
      console.log(`PPO update (GAE + one gradient step, 4-64-64 policy and value, ${activation}), batch ${batch}: median ${median(times).toFixed(2)} ms | act on 8 envs: median ${(median(acts) * 1000).toFixed(0)} µs`);
      agent.dispose();
    }
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
}

async function offpolicy(): Promise<void> {
  await initTensorBackend();
  const seeds = seedsArg('0,1,2,3,4,5,6,7,8,9');
  const logSize = Number(arg('log', '3000'));
  const epochs = Number(arg('epochs', '10'));
  // A greedy logging policy (temperature 0.3) gives heavy-tailed weights π/β.
  const problem = makeSyntheticBandit({ seed: 3, numActions: 5, numContexts: 100, featureDim: 4, noiseStd: 0.5, behaviourTemperature: 0.3, uniformMix: 0.02 });
  const behaviourValue = problem.value(problem.behaviour);
  const bestValue = Math.max(...problem.targets.map((t) => t.value));
  console.log(`synthetic bandit: 5 actions, 100 contexts, logs of ${logSize} decisions, ${epochs} epochs, ${seeds.length} data seeds; ${machine()}`);
  console.log(`behaviour policy value ${behaviourValue.toFixed(4)}; near-greedy softmax of the true reward ${bestValue.toFixed(4)}\n`);
  const variants: Array<[string, ReinforceConfig['importance']]> = [
    ['no clamp', { clamp: 'none' }],
    ['universal clamp at 5', { clamp: 'universal', clampMax: 5 }],
    ['aggressive clamp at 5', { clamp: 'aggressive', clampMax: 5 }],
    ['self-normalised, no clamp', { clamp: 'none', selfNormalize: true }],
    ['self-normalised + universal clamp at 5', { clamp: 'universal', clampMax: 5, selfNormalize: true }],
  ];
  console.log('| weights | learned policy true value (mean ± std over seeds) | worst seed | mean raw max weight per batch | mean ESS fraction | std of w·(r − r̄) per sample |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, importance] of variants) {
    const values: number[] = [];
    const maxW: number[] = [];
    const ess: number[] = [];
    const spread: number[] = [];
    for (const seed of seeds) {
      const log = problem.sample(logSize, 100 + seed);
      const agent = new ReinforceAgent({
        observationSpace: new Box(-10, 10, [problem.featureDim]),
        actionSpace: new Discrete(problem.numActions),
        config: { learningRate: 1e-2, gamma: 1, normalizeReturns: false, baseline: 'mean', importance, network: { hiddenSizes: [32] } },
        seed,
      });
      const history = agent.fitLogged(banditEpisodes(log), { epochs, batchEpisodes: 500 });
      values.push(problem.value(agent.actionProbabilities(problem.contextFeatures, problem.numContexts)));
      maxW.push(mean(history.map((m) => m.rawWeightMax ?? Number.NaN)));
      ess.push(mean(history.map((m) => m.essFraction ?? Number.NaN)));
      // Spread of the per-sample gradient scale w·(r − mean r) under the first policy, the
      // quantity whose variance clamping trades for bias.
      const fresh = new ReinforceAgent({ observationSpace: new Box(-10, 10, [problem.featureDim]), actionSpace: new Discrete(problem.numActions), config: { importance, network: { hiddenSizes: [32] } }, seed: 1000 + seed });
      const probs = fresh.actionProbabilities(log.features as Float32Array, log.n);
      const r = Array.from(log.rewards);
      const rm = mean(r);
      const wa = r.map((x, i) => {
        let w = probs[i * problem.numActions + log.actions[i]] / log.propensities[i];
        if (importance?.clamp === 'universal') w = Math.min(w, importance.clampMax ?? 10);
        if (importance?.clamp === 'aggressive' && w > (importance.clampMax ?? 10)) w = 0;
        return w * (x - rm);
      });
      spread.push(std(wa));
      agent.dispose();
      fresh.dispose();
    }
    console.log(`| ${name} | ${mean(values).toFixed(4)} ± ${std(values).toFixed(4)} | ${Math.min(...values).toFixed(4)} | ${mean(maxW).toFixed(1)} | ${mean(ess).toFixed(3)} | ${mean(spread).toFixed(3)} |`);
  }
}

async function slate(): Promise<void> {
  await initTensorBackend();
  const seeds = seedsArg('0,1,2');
  const logSize = Number(arg('log', '10000'));
  const epochs = Number(arg('epochs', '10'));
  console.log(`ranking task: 6 candidates, slates of 3, ${logSize} logged slates (Plackett-Luce behaviour, clicks), ${epochs} epochs; ${machine()}`);
  for (const seed of seeds) {
    const task = makeRankingTask({ seed });
    const log = task.sampleLogged(logSize, 1000 + seed);
    const test = task.sampleQueries(1000, 2000 + seed);
    const policy = new SlatePolicy({ numCandidates: task.config.numCandidates, candidateDim: task.config.candidateDim, slateSize: task.config.slateSize, seed });
    const trainer = new SlateTrainer(policy, { learningRate: 3e-3, importance: { selfNormalize: true, clamp: 'universal', clampMax: 50 } }, seed);
    const t = performance.now();
    trainer.fitLogged(log, { epochs, batchSize: 500 });
    const ev = task.evaluate(test, policy.sample(test, new Rng(seed), true).slates);
    console.log(
      `seed ${seed}: expected clicks per slate: learned ${ev.value.toFixed(4)}, logging policy ${ev.behaviourValue.toFixed(4)}, best ranking ${ev.optimalValue.toFixed(4)} (gap closed ${(((ev.value - ev.behaviourValue) / (ev.optimalValue - ev.behaviourValue)) * 100).toFixed(0)}%); exact best ordering on ${(ev.exactMatch * 100).toFixed(1)}% of test queries; ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    trainer.dispose();
    policy.dispose();
  }
}

const mode = process.argv[2];
if (mode === 'converge') {
  const env = arg('env', 'CartPole-v1') as string;
  const extra = arg('threshold') === undefined && PPO_THRESHOLDS[env] !== undefined ? ['--threshold', String(PPO_THRESHOLDS[env])] : [];
  await convergeCli([...process.argv, ...extra], 'ppo');
}
else if (mode === 'speed') await speed();
else if (mode === 'offpolicy') await offpolicy();
else if (mode === 'slate') await slate();
else {
  console.error('usage: npx tsx bench/ppo.ts converge --env <id> [--algo ppo|a2c|reinforce] [--seeds 0,1,2,3,4] [--steps N] [--parallel 2] | speed | offpolicy | slate');
  process.exit(2);
}
