/**
 * `npx tsx bench/offline.ts`: offline RL from simulator logs, checked against ground truth.
 *
 * For AdsSupply-v0 and NotificationDelivery-v0:
 *  1. log an ε-greedy behaviour policy around the env's heuristic (`simulateLog`);
 *  2. train offline DQN and CQL from the log alone (`trainOffline`);
 *  3. ground truth: the behaviour's value over its logged episodes, and each new (greedy)
 *     policy's value in the simulator over `--eval-episodes` fresh episodes (mean ± std, and
 *     the standard error);
 *  4. off-policy estimates of each new policy from the log (`evaluateLog`: DR, WDR, MAGIC with
 *     cross-fitted linear FQE and percentile-bootstrap 95% intervals), and whether each
 *     interval holds the ground truth.
 *
 * The issue's bars: on both simulators the offline policies beat the logging policy in
 * simulator ground truth, and DR/MAGIC intervals hold that truth.
 *
 * Flags: --envs=AdsSupply-v0,NotificationDelivery-v0 --episodes=N / --episodes-<env>=N,
 * --epsilon=e / --epsilon-<env>=e, --updates=20000, --eval-episodes=2000, --bootstrap=200,
 * --magic-bootstrap=50 (MAGIC's outer resamples: each one re-runs its inner 200-resample
 * bootstrap), --seed=0, --estimators=dr,wdr,magic, --algorithms=dqn,cql, --keep (keep the logs
 * and run folders in bench/out-offline).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentTargetPolicy } from '../src/agents/target-policy.js';
import type { Agent } from '../src/agents/agent.js';
import { LogStore, evaluateLog, heuristicBehaviour, simulateLog, type PolicyBatch, type SimulationResult, type TargetPolicy } from '../src/data/index.js';
import { evaluateAdsSupplyPolicy, heuristicFor } from '../src/envs/index.js';
import { trainOffline, type OfflineAlgorithm } from '../src/offline/index.js';
import { initTensorBackend } from '../src/tensor/index.js';
import { envFactoryFor, evaluateAgent, loadRunAgent, loadRunSpec } from '../src/train/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const flag = (name: string, fallback: string) => args.get(name) ?? fallback;

/**
 * Per env: log size, ε of the behaviour policy, make options and the FQE model of the DR
 * family. Ads runs on the discretised env (fatigue on a 0.25 grid: a finite MDP, docs/sims.md),
 * where tabular FQE is a consistent model; linear FQE diverges there off-policy. The
 * notification state (a week of binary history) is too large for a table: linear FQE.
 */
const ENV_DEFAULTS: Record<string, { episodes: number; epsilon: number; envOptions: Record<string, unknown>; model: 'tabular' | 'linear' }> = {
  'AdsSupply-v0': { episodes: 5000, epsilon: 0.5, envOptions: { fatigueStep: 0.25 }, model: 'tabular' },
  'NotificationDelivery-v0': { episodes: 5000, epsilon: 0.5, envOptions: {}, model: 'linear' },
};

const envs = flag('envs', Object.keys(ENV_DEFAULTS).join(',')).split(',');
const updates = Number(flag('updates', '20000'));
const evalEpisodes = Number(flag('eval-episodes', '2000'));
const bootstrap = Number(flag('bootstrap', '200'));
// MAGIC re-runs its own 200-resample bootstrap (its bias bound) inside every outer resample.
const magicBootstrap = Number(flag('magic-bootstrap', '50'));
const seed = Number(flag('seed', '0'));
const estimators = flag('estimators', 'dr,wdr,magic').split(',');
const keep = args.has('keep');
const algorithms = flag('algorithms', 'dqn,cql').split(',') as OfflineAlgorithm[];
const out = keep ? path.resolve('bench/out-offline') : fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-offline-'));
fs.mkdirSync(out, { recursive: true });

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

interface Row {
  env: string;
  policy: string;
  truth: { mean: number; std: number; stderr: number; n: number };
  /** Exact value on the discretised ads model (DP), when available. */
  exact: number | null;
  beatsBehaviour: boolean | null;
  estimates: { name: string; value: number; lower: number; upper: number; covers: boolean }[];
  seconds: number;
}

/** One row's probabilities of a batch policy (for the exact DP evaluation of ads policies). */
function rowPolicy(policy: TargetPolicy, k: number): (obs: Float32Array) => Float64Array {
  return (obs) => {
    const out = new Float64Array(k);
    const batch: PolicyBatch = { n: 1, featureDim: obs.length, numActions: k, mdpIds: ['dp'], sequenceNumbers: Int32Array.of(0), features: obs, masks: null };
    void policy.probabilities(batch, out);
    return out;
  };
}

/** Exact value of a policy on the discretised ads model, or null for other envs. */
function exactValue(env: string, envOptions: Record<string, unknown>, policy: (obs: Float32Array) => number | Float64Array): number | null {
  if (env !== 'AdsSupply-v0' || !(Number(envOptions.fatigueStep) > 0)) return null;
  return evaluateAdsSupplyPolicy(envOptions, policy).value;
}

function greedy(agent: Agent): (obs: Float32Array) => number {
  return (obs) => {
    const q = agent.qValues!(obs, 1);
    let best = 0;
    for (let a = 1; a < q.length; a++) if (q[a] > q[best]) best = a;
    return best;
  };
}

async function main(): Promise<void> {
  await initTensorBackend({ backend: 'wasm' });
  const started = performance.now();
  const rows: Row[] = [];
  for (const env of envs) {
    const defaults = ENV_DEFAULTS[env] ?? { episodes: 2000, epsilon: 0.3, envOptions: {}, model: 'linear' as const };
    const episodes = Number(args.get(`episodes-${env}`) ?? args.get('episodes') ?? defaults.episodes);
    const epsilon = Number(args.get(`epsilon-${env}`) ?? args.get('epsilon') ?? defaults.epsilon);
    const log = path.join(out, `${env}.duckdb`);
    let t = performance.now();
    const sim: SimulationResult = await simulateLog({ env, envOptions: defaults.envOptions, out: log, overwrite: true, episodes, seed, policy: { kind: 'heuristic', epsilon } });
    console.error(`${env}: logged ${sim.decisions} decisions of ${sim.episodes} episodes (${sim.policy}) in ${((performance.now() - t) / 1000).toFixed(1)} s; behaviour value ${f3(sim.meanReturn)} ± ${f3(sim.stdReturn)}`);
    const behaviour = heuristicBehaviour(heuristicFor(env, defaults.envOptions)!, sim.numActions, { epsilon });
    rows.push({
      env,
      policy: `behaviour: ${sim.policy}`,
      truth: { mean: sim.meanReturn, std: sim.stdReturn, stderr: sim.stderrReturn, n: sim.episodes },
      exact: exactValue(env, defaults.envOptions, rowPolicy(behaviour, sim.numActions)),
      beatsBehaviour: null,
      estimates: [],
      seconds: sim.seconds,
    });
    for (const algorithm of algorithms) {
      t = performance.now();
      const runDir = path.join(out, `${env}-${algorithm}`);
      const { summary } = await trainOffline({ algorithm, data: log, runDir, overwrite: true, updates, seed, finalEvalEpisodes: 0 });
      const trainSeconds = (performance.now() - t) / 1000;
      const spec = await loadRunSpec(runDir);
      const agent = await loadRunAgent(runDir);
      try {
        const truth = evaluateAgent(agent, envFactoryFor(spec), { episodes: evalEpisodes, seed: spec.evalSeed });
        const store = await LogStore.open(log, { readOnly: true });
        const estimatesOut = [];
        const opeStarted = performance.now();
        try {
          const target = agentTargetPolicy(agent, { mode: 'greedy' });
          const options = { kind: 'sequential' as const, seed, gamma: 1, model: defaults.model };
          const plain = estimators.filter((e) => e !== 'magic');
          if (plain.length) estimatesOut.push(...(await evaluateLog(store, target, { ...options, estimators: plain, bootstrap })).report.estimates);
          if (estimators.includes('magic')) estimatesOut.push(...(await evaluateLog(store, target, { ...options, estimators: ['magic'], bootstrap: magicBootstrap })).report.estimates);
        } finally {
          store.close();
        }
        const report = { estimates: estimatesOut };
        const stderr = truth.stdReturn / Math.sqrt(evalEpisodes);
        // A z-test of the difference of two independent means at the 2σ level.
        const z = (truth.meanReturn - sim.meanReturn) / Math.hypot(stderr, sim.stderrReturn);
        rows.push({
          env,
          policy: `offline ${algorithm} (${updates} updates)`,
          truth: { mean: truth.meanReturn, std: truth.stdReturn, stderr, n: evalEpisodes },
          exact: exactValue(env, defaults.envOptions, greedy(agent)),
          beatsBehaviour: z > 2,
          estimates: report.estimates.map((e) => ({
            name: e.estimator,
            value: e.value,
            lower: e.interval?.lower ?? NaN,
            upper: e.interval?.upper ?? NaN,
            covers: e.interval !== undefined && e.interval.lower <= truth.meanReturn && truth.meanReturn <= e.interval.upper,
          })),
          seconds: (performance.now() - t) / 1000,
        });
        console.error(`${env} ${algorithm}: trained in ${trainSeconds.toFixed(1)} s, OPE ${((performance.now() - opeStarted) / 1000).toFixed(1)} s (${summary.sps.toFixed(0)} updates/s); truth ${f3(truth.meanReturn)} ± ${f3(truth.stdReturn)}; ${report.estimates.map((e) => `${e.estimator} ${f3(e.value)} [${f3(e.interval?.lower ?? NaN)}, ${f3(e.interval?.upper ?? NaN)}]`).join('; ')}`);
      } finally {
        agent.dispose();
      }
    }
  }
  const names = [...new Set(rows.flatMap((r) => r.estimates.map((e) => e.name)))];
  console.log(`\n| env | policy | true value: mean ± std (episodes) | ± se | exact (DP) | beats behaviour | ${names.map((n) => `${n} [95% interval]`).join(' | ')} | seconds |`);
  console.log(`| --- | --- | ---: | ---: | ---: | :---: | ${names.map(() => '---:').join(' | ')} | ---: |`);
  for (const r of rows) {
    const cells = names.map((n) => {
      const e = r.estimates.find((x) => x.name === n);
      return e ? `${f3(e.value)} [${f3(e.lower)}, ${f3(e.upper)}]${e.covers ? '' : ' ✗'}` : '';
    });
    const beats = r.beatsBehaviour === null ? '' : r.beatsBehaviour ? 'yes' : '**no**';
    console.log(`| ${r.env} | ${r.policy} | ${f3(r.truth.mean)} ± ${f3(r.truth.std)} (${r.truth.n}) | ${f3(r.truth.stderr)} | ${r.exact === null ? '-' : f3(r.exact)} | ${beats} | ${cells.join(' | ')} | ${r.seconds.toFixed(1)} |`);
  }
  const offline = rows.filter((r) => r.beatsBehaviour !== null);
    const drMagic = offline.flatMap((r) => r.estimates.filter((e) => e.name.startsWith('dr') || e.name.startsWith('magic')));
  const covered = drMagic.filter((e) => e.covers).length;
  console.log(`\noffline policies beating the behaviour ((truth − behaviour) / se of the difference > 2): ${offline.filter((r) => r.beatsBehaviour).length} of ${offline.length}; DR/MAGIC intervals holding the truth: ${covered} of ${drMagic.length}`);
  console.log(`settings: updates ${updates}, eval episodes ${evalEpisodes}, bootstrap ${bootstrap} (MAGIC ${magicBootstrap}), seed ${seed}; ${envs.map((e) => `${e}: ${JSON.stringify(ENV_DEFAULTS[e] ?? {})}`).join('; ')}`);
  console.log(`wall ${((performance.now() - started) / 1000).toFixed(1)} s; Node ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  if (!keep) fs.rmSync(out, { recursive: true, force: true });
}

await main();
