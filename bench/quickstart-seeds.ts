/**
 * `npm run bench:quickstart -- --seeds=0,1,2`: the quickstart's own pipeline (log → offline
 * train → simulator truth → OPE, two rounds) once per seed, and one table of what each learned
 * policy reached against the baselines, per seed.
 *
 * Per seed it runs `runQuickstart` with the defaults (the same as `npm start`) into
 * `<out>/seed<k>` and prints, per simulator and round: the learned policy's simulated mean ±
 * standard error (3000 fresh episodes), its exact value and share of the optimum where the
 * simulator has them (AdsSupply-v0), its paired difference from the plain heuristic and the
 * best simple policy (± standard error, verdict), round 2's gain over round 1, and the seed's
 * wall time. Then the CPU model, Node version and load average, for docs/benchmarks.md.
 *
 * Flags: --seeds=0,1,2 --envs=AdsSupply-v0,NotificationDelivery-v0 --out=bench/out-quickstart
 * (kept; default a temporary folder, removed) and any of --episodes --updates --eval-episodes
 * --bootstrap (passed to runQuickstart).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preferFusedFma } from '../src/tensor/fused.js';
import { initTensorBackend } from '../src/tensor/index.js';
import { runQuickstart, type QuickstartComparison, type QuickstartResult } from '../src/workflow/quickstart.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const num = (name: string) => (args.has(name) ? Number(args.get(name)) : undefined);
const seeds = (args.get('seeds') ?? '0,1,2').split(',').map(Number);
const envs = args.get('envs')?.split(',');
const keep = args.has('out');
const out = keep ? path.resolve(String(args.get('out'))) : fs.mkdtempSync(path.join(os.tmpdir(), 'kairos-bench-quickstart-'));

const f3 = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(3));
const signed = (x: number) => (x >= 0 ? `+${x.toFixed(3)}` : x.toFixed(3));
const vs = (c: QuickstartComparison | null | undefined) => (c ? `${signed(c.difference)} ± ${c.stderr.toFixed(3)} (z ${c.z.toFixed(1)}, ${c.verdict})` : '');

async function main(): Promise<void> {
  preferFusedFma();
  await initTensorBackend();
  const load0 = os.loadavg()[0];
  const runs: { seed: number; result: QuickstartResult }[] = [];
  for (const seed of seeds) {
    const result = await runQuickstart({
      out: path.join(out, `seed${seed}`),
      overwrite: true,
      seed,
      ...(envs ? { envs } : {}),
      ...(num('episodes') ? { episodes: num('episodes') } : {}),
      ...(num('updates') ? { updates: num('updates') } : {}),
      ...(num('eval-episodes') ? { evalEpisodes: num('eval-episodes') } : {}),
      ...(num('bootstrap') ? { bootstrap: num('bootstrap') } : {}),
      onStage: (env, stage, _detail, round) => console.error(`seed ${seed} ${env}${round ? ` round ${round}` : ''}: ${stage}`),
    });
    runs.push({ seed, result });
    console.error(`seed ${seed}: ${result.seconds.toFixed(0)} s`);
  }
  console.log('| seed | simulator | round | learned policy: simulated ± se | exact | % of optimum | vs plain heuristic | vs best simple policy | round 2 − round 1 | wall (s) |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |');
  for (const { seed, result } of runs) {
    for (const env of result.envs) {
      for (const r of env.rounds) {
        const p = r.policies[r.policies.length - 1];
        const best = env.bestSimple === 'plain heuristic' ? '(the heuristic)' : vs(p.versus[1]);
        console.log(
          `| ${seed} | ${env.env} | ${r.round} | ${f3(p.mean)} ± ${f3(p.stderr)} | ${f3(p.exact)} | ${p.ofOptimum === null ? '-' : `${(100 * p.ofOptimum).toFixed(1)}%`} | ${vs(p.versus[0])} | ${best} | ${vs(r.gain)} | ${r.round === 1 ? result.seconds.toFixed(0) : ''} |`,
        );
      }
    }
  }
  // Pooled over seeds: the mean of the per-seed differences, with the standard error of that mean (seeds independent).
  const pooled = new Map<string, number[]>();
  for (const { result } of runs) {
    for (const env of result.envs) {
      for (const r of env.rounds) {
        const p = r.policies[r.policies.length - 1];
        const key = `${env.env} round ${r.round} vs plain heuristic`;
        pooled.set(key, [...(pooled.get(key) ?? []), p.versus[0].difference]);
        if (p.ofOptimum !== null) pooled.set(`${env.env} round ${r.round} % of optimum`, [...(pooled.get(`${env.env} round ${r.round} % of optimum`) ?? []), 100 * p.ofOptimum]);
      }
    }
  }
  console.log('');
  for (const [key, xs] of pooled) {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`${key}: ${xs.map((x) => x.toFixed(3)).join(', ')} (mean ${mean.toFixed(3)}; min ${Math.min(...xs).toFixed(3)})`);
  }
  console.log(`\nNode ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}); load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end; ${new Date().toISOString()}`);
  if (!keep) fs.rmSync(out, { recursive: true, force: true });
}

await main();
