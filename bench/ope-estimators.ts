/**
 * `npx tsx bench/ope-estimators.ts`: off-policy evaluation against ground truth, and at scale.
 *
 * (a) Accuracy: relative error mean |V̂ − V| / |V| over `--reps` seeded replications (default
 *     20) of every estimator, for the target policies of the synthetic bandit and the
 *     synthetic MDP (src/ope/synthetic.ts, exact values), at two data sizes each.
 *     Reward model: cross-fitted ridge (2 folds). Q̂ for DM/DR/WDR/MAGIC: cross-fitted tabular
 *     FQE (2 folds); `fqe(tabular)` is FQE fitted on all episodes.
 * (b) Scale: DR with a 200-resample bootstrap on 10 million synthetic bandit rows (K = 5,
 *     d = 4): wall time of each phase, rows/s, and peak RSS. Target (issue 6): under 60 s on 2
 *     cores with bounded memory. Timed: validation, cross-fitted reward model, DR, bootstrap
 *     (data generation stands in for loading the log and is reported apart).
 *
 * Flags: --part=a|b|all (default all), --reps=20, --rows=10000000, --workers=2, --resamples=200.
 */
import os from 'node:os';
import {
  bootstrapTermsParallel,
  clippedIps,
  directMethod,
  doublyRobust,
  drShrinkage,
  fitFqe,
  fitRewardModel,
  fqe,
  ips,
  magic,
  makeSyntheticBandit,
  makeSyntheticMdp,
  perDecisionIs,
  selfNormalizedDr,
  sequentialDirectMethod,
  sequentialDr,
  snips,
  switchDr,
  trajectoryIs,
  validateBanditDataset,
  weightedDr,
  weightedIs,
  weightedPerDecisionIs,
  type BanditEstimator,
  type SequentialEstimator,
} from '../src/ope/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const part = args.get('part') ?? 'all';
const reps = Number(args.get('reps') ?? 20);
const rows = Number(args.get('rows') ?? 10_000_000);
const workers = Number(args.get('workers') ?? 2);
const resamples = Number(args.get('resamples') ?? 200);

let peakRss = process.memoryUsage().rss;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function table(title: string, header: string[], body: string[][]): void {
  console.log(`\n${title}\n`);
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const r of body) console.log(`| ${r.join(' | ')} |`);
}

function partA(): void {
  // Bandit.
  const bandit = makeSyntheticBandit({ seed: 1 });
  const banditEstimators: BanditEstimator[] = [
    directMethod(),
    ips(),
    clippedIps({ maxWeight: 10 }),
    snips(),
    doublyRobust(),
    selfNormalizedDr(),
    switchDr({ tau: 10 }),
    drShrinkage({ lambda: 100 }),
  ];
  const targets = bandit.targets.filter((t) => t.name !== 'behaviour');
  for (const n of [1000, 10_000]) {
    const err = new Map<string, number[]>(banditEstimators.map((e) => [e.name, targets.map(() => 0)]));
    for (let r = 0; r < reps; r++) {
      const log = bandit.sample(n, 1000 + r);
      const model = fitRewardModel(log, { kind: 'ridge', lambda: 1, folds: 2, seed: r });
      targets.forEach((t, ti) => {
        const data = bandit.withTarget(log, t.probs);
        for (const e of banditEstimators) err.get(e.name)![ti] += Math.abs(e.estimate(data, model).value - t.value) / Math.abs(t.value) / reps;
      });
    }
    table(
      `Synthetic bandit (K = ${bandit.numActions}, ${bandit.numContexts} Gaussian contexts, d = ${bandit.featureDim}), n = ${n} rows: mean relative error over ${reps} replications`,
      ['estimator', ...targets.map((t) => `${t.name} (V = ${t.value.toFixed(3)})`)],
      [...err].map(([name, e]) => [name, ...e.map((x) => x.toFixed(4))]),
    );
  }
  // MDP.
  const mdp = makeSyntheticMdp({ seed: 3, numStates: 4, numActions: 3, horizon: 5, gamma: 0.9, uniformMix: 0.2 });
  const modelEstimators: SequentialEstimator[] = [sequentialDirectMethod(), sequentialDr(), weightedDr(), magic()];
  const isEstimators: SequentialEstimator[] = [trajectoryIs(), perDecisionIs(), weightedIs(), weightedPerDecisionIs(), fqe({ kind: 'tabular' })];
  const mdpTargets = mdp.targets.filter((t) => t.name !== 'behaviour');
  const names = [...isEstimators, ...modelEstimators].map((e) => e.name);
  for (const n of [200, 2000]) {
    const err = new Map<string, number[]>(names.map((nm) => [nm, mdpTargets.map(() => 0)]));
    for (let r = 0; r < reps; r++) {
      const eps = mdp.sample(n, 5000 + r);
      mdpTargets.forEach((t, ti) => {
        const data = mdp.withTarget(eps, t.probs);
        const model = fitFqe(data, { kind: 'tabular', folds: 2, seed: r });
        for (const e of isEstimators) err.get(e.name)![ti] += Math.abs(e.estimate(data).value - t.value) / Math.abs(t.value) / reps;
        for (const e of modelEstimators) err.get(e.name)![ti] += Math.abs(e.estimate(data, model).value - t.value) / Math.abs(t.value) / reps;
      });
    }
    table(
      `Synthetic MDP (S = ${mdp.numStates}, K = ${mdp.numActions}, H = ${mdp.horizon}, γ = ${mdp.gamma}), n = ${n} episodes: mean relative error over ${reps} replications`,
      ['estimator', ...mdpTargets.map((t) => `${t.name} (V = ${t.value.toFixed(3)})`)],
      [...err].map(([name, e]) => [name, ...e.map((x) => x.toFixed(4))]),
    );
  }
}

async function partB(): Promise<void> {
  const time = <T>(f: () => T): [T, number] => {
    const t0 = performance.now();
    const out = f();
    sampleRss();
    return [out, (performance.now() - t0) / 1000];
  };
  const problem = makeSyntheticBandit({ seed: 7, numActions: 5, numContexts: 1000, featureDim: 4 });
  const target = problem.targets.find((t) => t.name === 'softmax-r(τ=1)')!;
  const [log, tGen] = time(() => problem.sample(rows, 11));
  const [data, tTarget] = time(() => problem.withTarget(log, target.probs));
  const [, tValidate] = time(() => validateBanditDataset(data));
  const [model, tModel] = time(() => fitRewardModel(data, { kind: 'ridge', lambda: 1, folds: 2, seed: 0 }));
  const dr = doublyRobust();
  const [terms, tTerms] = time(() => dr.terms(data, model));
  const [est, tEst] = time(() => dr.estimate(data, model));
  const t0 = performance.now();
  const ci = await bootstrapTermsParallel(terms, { resamples, alpha: 0.05, seed: 0, workers });
  const tBoot = (performance.now() - t0) / 1000;
  sampleRss();
  const total = tValidate + tModel + tEst + tBoot;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  table(
    `DR + ${resamples}-resample Poisson bootstrap on ${rows.toLocaleString('en')} bandit rows (K = 5, d = 4), ${workers} worker(s)`,
    ['phase', 'seconds', 'rows/s'],
    [
      ['generate synthetic log (not timed)', tGen.toFixed(2), (rows / tGen).toExponential(2)],
      ['attach target probabilities (not timed)', tTarget.toFixed(2), ''],
      ['validate dataset', tValidate.toFixed(2), (rows / tValidate).toExponential(2)],
      ['fit ridge reward model, 2-fold cross-fit', tModel.toFixed(2), (rows / tModel).toExponential(2)],
      ['DR estimate (terms + stderr + diagnostics)', tEst.toFixed(2), (rows / tEst).toExponential(2)],
      [`bootstrap, ${resamples} resamples`, tBoot.toFixed(2), ((rows * resamples) / tBoot).toExponential(2) + ' row-resamples/s'],
      ['**total (validate + model + DR + bootstrap)**', `**${total.toFixed(2)}**`, (rows / total).toExponential(2)],
    ],
  );
  console.log(`\n(DR terms alone: ${tTerms.toFixed(2)} s.)`);
  console.log(`DR = ${est.value.toFixed(5)} ± ${est.stderr.toFixed(5)}; 95% CI [${ci.lower.toFixed(5)}, ${ci.upper.toFixed(5)}]; truth ${target.value.toFixed(5)}; ESS ${est.diagnostics.ess.toExponential(3)}`);
  console.log(`peak RSS: ${mib(maxRss)} (getrusage maxRSS); sampled rss peak ${mib(peakRss)}; target < 60 s: ${total < 60 ? 'met' : 'NOT met'}`);
}

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'}, nproc ${os.availableParallelism()}, node ${process.version}, ${mib(os.totalmem())} RAM`);
if (part === 'a' || part === 'all') partA();
if (part === 'b' || part === 'all') await partB();
