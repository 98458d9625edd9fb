/**
 * Recurrent Q-network vs memoryless DQN on ActionSequence-v0 (issue 3, item 4).
 *
 * For each seed, trains `rdqn` (LSTM over observation + previous action) and `dqn` (MLP on
 * the current observation) for the same number of env steps through the shared training
 * loop, then scores each greedy policy exactly: one episode per possible cue (k^P = 64
 * episodes cover every case of the env's randomness), so the figure is the policy's exact
 * expected return, not an estimate. Prints per-seed and mean returns next to the env's exact
 * optimum (1) and the exact upper bound for any memoryless policy.
 *
 * Both agents run the same loop on 8 envs; DQN is given 16× rdqn's gradient updates (they
 * are cheap), so its shortfall is the missing memory, not training. A coordinate-ascent
 * search over memoryless policy tables gives a lower bound on the best memoryless value.
 *
 * Run: `npx tsx bench/recurrent-q.ts` (options: --seeds=0,1,2 --steps=N --scorer-seed=S).
 */
import os from 'node:os';
import { Rng } from '../src/core/rng.js';
import '../src/agents/builtin.js';
import type { Agent } from '../src/agents/agent.js';
import { createAgent } from '../src/agents/registry.js';
import type { RecurrentActOptions } from '../src/agents/rdqn/rdqn.js';
import '../src/envs/builtin.js';
import type { Env } from '../src/envs/env.js';
import { make } from '../src/envs/registry.js';
import { actionSequenceTask, actionSequenceValues, type ActionSequenceOptions } from '../src/envs/sims/action-sequence.js';
import { initTensorBackend } from '../src/tensor/backend.js';
import { EnvPool } from '../src/train/env-pool.js';
import { trainAgent } from '../src/train/loop.js';

// --- Settings --------------------------------------------------------------------------------
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const SEEDS = (args.get('seeds') ?? '0,1,2').split(',').map(Number);
/** Env steps per run (8 steps an episode). */
const STEPS = Number(args.get('steps') ?? 20_000);
/** Envs stepped together: one batched `act` per 8 env steps keeps acting cheap. */
const NUM_ENVS = 8;
const ENV: ActionSequenceOptions = { scorerSeed: Number(args.get('scorer-seed') ?? 0) };

/** Shared by both agents, so the difference is the memory. */
const COMMON = {
  learningRate: 1e-3,
  learningStarts: 1000,
  batchSize: 64,
  gamma: 0.99,
  targetUpdateInterval: 1000,
  explorationFraction: 0.5,
  explorationFinalEps: 0.05,
  bufferSize: 50_000,
};
const CONFIGS: Record<string, Record<string, unknown>> = {
  // One update of 64 sequences every 2 vector steps (16 env steps): 1 250 updates a run.
  rdqn: { ...COMMON, trainFreq: 2, network: { encoderSizes: [64], lstmSize: 64, headSizes: [] } },
  // DQN gets 16× the updates (one of 64 transitions per env step, 20 000 a run), as they
  // are cheap: its shortfall is memory, not training.
  dqn: { ...COMMON, trainFreq: 1, gradientSteps: 8, double: true, network: { hiddenSizes: [64, 64] } },
};

// --- Exact greedy evaluation ------------------------------------------------------------------

/** All k^P cues, as action arrays. */
function allCues(k: number, P: number): number[][] {
  return Array.from({ length: k ** P }, (_, i) => Array.from({ length: P }, (_, j) => Math.floor(i / k ** (P - 1 - j)) % k));
}

/**
 * Exact expected greedy return: one episode per cue, all run side by side (one `act` call
 * per step). Recurrent agents are told each row starts an episode on the first call.
 */
function exactGreedyReturn(agent: Agent, opts: ActionSequenceOptions): number {
  const { numActions: k, cueLength: P } = actionSequenceTask(opts).options;
  const cues = allCues(k, P);
  const n = cues.length;
  const envs: Env<Float32Array, number>[] = cues.map(() => make<Float32Array, number>('ActionSequence-v0', opts));
  const d = agent.obsDim;
  const obs = new Float32Array(n * d);
  envs.forEach((env, i) => obs.set(env.reset({ seed: i, options: { cue: cues[i] } }).observation, i * d));
  const returns = new Float64Array(n);
  let done = false;
  for (let t = 0; !done; t++) {
    const options: RecurrentActOptions = { deterministic: true, episodeStarts: t === 0 ? new Uint8Array(n).fill(1) : null };
    const { actions } = agent.act(obs, n, options);
    for (let i = 0; i < n; i++) {
      const r = envs[i].step(actions[i]);
      returns[i] += r.reward;
      obs.set(r.observation, i * d);
      done = r.terminated || r.truncated;
    }
  }
  return returns.reduce((a, b) => a + b, 0) / n;
}

/**
 * Best deterministic memoryless policy found by coordinate ascent with random restarts over
 * tables (step, last action) → action, scored exactly from the task's table of returns: a
 * lower bound on the best memoryless value (the env gives the exact upper bound).
 */
function memorylessSearch(opts: ActionSequenceOptions, restarts = 200): number {
  const task = actionSequenceTask(opts);
  const { numActions: k, length: L, cueLength: P } = task.options;
  const cues = allCues(k, P);
  const table = new Int32Array((L - P) * k);
  const value = (): number => {
    let sum = 0;
    for (const cue of cues) {
      let index = 0;
      for (const a of cue) index = index * k + a;
      let last = cue[P - 1];
      for (let t = P; t < L; t++) {
        last = table[(t - P) * k + last];
        index = index * k + last;
      }
      sum += task.returns[index];
    }
    return sum / cues.length;
  };
  const rng = new Rng(0);
  let best = -Infinity;
  for (let r = 0; r < restarts; r++) {
    for (let i = 0; i < table.length; i++) table[i] = rng.int(k);
    let current = value();
    for (let improved = true; improved; ) {
      improved = false;
      for (let i = 0; i < table.length; i++) {
        let bestAction = table[i];
        for (let a = 0; a < k; a++) {
          table[i] = a;
          const v = value();
          if (v > current + 1e-12) {
            current = v;
            bestAction = a;
            improved = true;
          }
        }
        table[i] = bestAction;
      }
    }
    best = Math.max(best, current);
  }
  return best;
}

// --- Run -------------------------------------------------------------------------------------

interface Result {
  algorithm: string;
  seed: number;
  greedyReturn: number;
  seconds: number;
  sps: number;
}

async function runOne(algorithm: string, seed: number): Promise<Result> {
  const pool = new EnvPool(() => make('ActionSequence-v0', ENV), NUM_ENVS, seed);
  const agent = createAgent(algorithm, { observationSpace: pool.observationSpace, actionSpace: pool.actionSpace, config: CONFIGS[algorithm], seed });
  const r = await trainAgent(agent, pool, { totalSteps: STEPS, logEvery: STEPS });
  const greedyReturn = exactGreedyReturn(agent, ENV);
  agent.dispose();
  pool.close();
  return { algorithm, seed, greedyReturn, seconds: r.seconds, sps: r.sps };
}

const info = await initTensorBackend();
const values = actionSequenceValues(ENV);
console.log(`ActionSequence-v0 ${JSON.stringify(ENV)}; ${STEPS} env steps per run; seeds ${SEEDS.join(', ')}`);
console.log(`backend ${info.backend}, ${os.cpus().length} CPUs, Node ${process.version}`);
const results: Result[] = [];
for (const seed of SEEDS) {
  for (const algorithm of ['rdqn', 'dqn']) {
    const r = await runOne(algorithm, seed);
    results.push(r);
    console.log(`  ${algorithm.padEnd(5)} seed ${seed}: greedy return ${r.greedyReturn.toFixed(3)}  (${r.seconds.toFixed(1)} s, ${Math.round(r.sps)} steps/s)`);
  }
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
console.log('\n| policy | greedy return (mean ± std over seeds) | per seed | s per run |');
console.log('| --- | ---: | --- | ---: |');
for (const algorithm of ['rdqn', 'dqn']) {
  const rs = results.filter((r) => r.algorithm === algorithm);
  const g = rs.map((r) => r.greedyReturn);
  console.log(`| ${algorithm} | ${mean(g).toFixed(3)} ± ${std(g).toFixed(3)} | ${g.map((x) => x.toFixed(3)).join(', ')} | ${mean(rs.map((r) => r.seconds)).toFixed(1)} |`);
}
console.log(`| exact optimum (any policy) | ${values.optimal.toFixed(3)} | | |`);
const found = memorylessSearch(ENV);
console.log(`| best memoryless policy | ${found.toFixed(3)} found … ≤ ${values.memorylessBound.toFixed(3)} (exact bound) | | |`);
console.log(`| best open-loop plan | ${values.openLoop.toFixed(3)} | | |`);
console.log(`| uniform random | ${values.random.toFixed(3)} | | |`);
const rdqn = mean(results.filter((r) => r.algorithm === 'rdqn').map((r) => r.greedyReturn));
const dqn = mean(results.filter((r) => r.algorithm === 'dqn').map((r) => r.greedyReturn));
console.log(`\nrdqn − dqn = ${(rdqn - dqn).toFixed(3)}; rdqn ${rdqn > values.memorylessBound ? 'beats' : 'does not beat'} every memoryless policy (bound ${values.memorylessBound.toFixed(3)}).`);
