/** `kairos envs` and `kairos envs check <id>`. */
import { checkEnv } from '../envs/checker.js';
import { listEnvs, make } from '../envs/registry.js';
import { parseJsonObject } from './options.js';

/** Prints every registered env with its spaces, time limit and solve threshold. */
export function listEnvsCommand(opts: { json?: boolean }): number {
  const rows = listEnvs().map((reg) => {
    const env = make(reg.id);
    const row = {
      id: reg.id,
      observationSpace: String(env.observationSpace),
      actionSpace: String(env.actionSpace),
      maxEpisodeSteps: env.spec?.maxEpisodeSteps ?? null,
      rewardThreshold: reg.rewardThreshold ?? null,
      description: reg.description ?? '',
    };
    env.close?.();
    return row;
  });
  if (opts.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  for (const r of rows) {
    console.log(`${r.id}`);
    if (r.description) console.log(`  ${r.description}`);
    console.log(`  observation: ${r.observationSpace}`);
    console.log(`  action:      ${r.actionSpace}`);
    console.log(`  time limit:  ${r.maxEpisodeSteps ?? 'none'}   solved at: ${r.rewardThreshold ?? 'n/a'}`);
  }
  return 0;
}

/** Runs the env checker on a registered env; exit code 1 when it finds errors. */
export function checkEnvCommand(id: string, opts: { options?: string; seed: number }): number {
  const env = make(id, parseJsonObject(opts.options, '--options'));
  const report = checkEnv(env, { seed: opts.seed });
  env.close?.();
  for (const w of report.warnings) console.log(`warning: ${w}`);
  for (const e of report.errors) console.log(`error: ${e}`);
  console.log(report.ok ? `${id}: passed the env checker` : `${id}: ${report.errors.length} check(s) failed`);
  return report.ok ? 0 : 1;
}
