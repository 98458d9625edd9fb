/**
 * `kairos tour`: a tour of the environments. It checks every
 * registered env against the contract and compares a random policy with the shipped
 * heuristic controller on each, printing one table.
 */
import { checkEnv } from '../envs/checker.js';
import { heuristicFor } from '../envs/heuristics.js';
import { listEnvs, make } from '../envs/registry.js';
import { randomPolicy, runEpisodes } from '../envs/rollout.js';
import { startProgress } from './progress.js';

export function startCommand(opts: { episodes: number; seed: number }): number {
  const regs = listEnvs();
  console.log(`Kairos: ${regs.length} environments registered. Checking each and comparing random vs heuristic control`);
  console.log(`(${opts.episodes} seeded episodes each, seeds ${opts.seed}..${opts.seed + opts.episodes - 1}).\n`);
  const progress = startProgress(regs.length, 'envs');
  const rows: string[][] = [];
  let failures = 0;
  for (const reg of regs) {
    const env = make(reg.id);
    const report = checkEnv(env, { seed: opts.seed });
    if (!report.ok) failures++;
    const random = runEpisodes(env, randomPolicy(env), { episodes: opts.episodes, seed: opts.seed });
    const h = heuristicFor(reg.id, env.spec?.kwargs ?? {});
    const heuristic = h ? runEpisodes(env, (obs: any) => h(obs as Float32Array), { episodes: opts.episodes, seed: opts.seed }) : undefined;
    rows.push([
      reg.id,
      report.ok ? 'ok' : `${report.errors.length} error(s)`,
      `${random.meanReturn.toFixed(1)} ± ${random.stdReturn.toFixed(1)}`,
      heuristic ? `${heuristic.meanReturn.toFixed(1)} ± ${heuristic.stdReturn.toFixed(1)}` : '-',
      reg.rewardThreshold === undefined ? '-' : String(reg.rewardThreshold),
    ]);
    env.close?.();
    progress.tick();
  }
  progress.stop();
  printTable(['env', 'checker', 'random return', 'heuristic return', 'solved at'], rows);
  console.log('\nNext: `npx kairos envs` lists the spaces, `npx kairos rollout LunarLander-v3 --policy heuristic --episodes 100`');
  console.log('replays the heuristic, and `npm run bench:envs` measures throughput (see docs/benchmarks.md).');
  return failures === 0 ? 0 : 1;
}

/** Prints rows as an aligned text table. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
