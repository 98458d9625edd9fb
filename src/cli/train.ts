/**
 * `kairos train <algorithm> --env <id> [--config file.json] [--seed n] [--steps n] ...` and
 * `kairos train --resume <run>`: thin shell over `startRun` / `resumeRun` with a progress
 * bar (steps, SPS, recent return, ε, loss) and Ctrl-C → checkpoint and clean exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KairosError } from '../core/errors.js';
import '../agents/builtin.js';
import { getAgentRegistration, listAgents } from '../agents/registry.js';
import { initTensorBackend } from '../tensor/backend.js';
import type { TrainCallback } from '../train/callbacks.js';
import { resumeRun, startRun, type RunSpecInput, type RunSummary } from '../train/run.js';
import { parseJsonObject, parseOptions } from './options.js';
import { startProgress } from './progress.js';

const TrainOptions = z
  .object({
    env: z.string().optional(),
    options: z.string().optional(),
    config: z.string().optional(),
    preset: z.boolean().default(true),
    seed: z.number().int().nonnegative().default(0),
    steps: z.number().int().positive().optional(),
    numEnvs: z.number().int().positive().optional(),
    runDir: z.string().optional(),
    evalEvery: z.number().int().nonnegative().optional(),
    evalEpisodes: z.number().int().positive().optional(),
    finalEvalEpisodes: z.number().int().nonnegative().optional(),
    checkpointEvery: z.number().int().nonnegative().optional(),
    resume: z.string().optional(),
    overwrite: z.boolean().optional(),
    progress: z.boolean().default(true),
    json: z.boolean().optional(),
  })
  .strict();

/** Reads `--config`: a JSON file holding the algorithm's config. */
function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new KairosError(`--config: cannot read ${file}`, 'invalid_option');
  }
  return parseJsonObject(text, `--config ${file}`);
}

/** Deep merge of plain objects (arrays and scalars from `over` replace). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

function fmt(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

/** Progress bar over env steps plus Ctrl-C handling. */
function progressCallback(totalSteps: number, enabled: boolean): TrainCallback {
  if (!enabled || !process.stderr.isTTY) return {};
  const bar = startProgress(totalSteps, 'steps', '{sps} sps | return {ret} | eps {eps} | loss {loss}');
  let sps = '-';
  let lastDraw = 0;
  return {
    onLog: (r) => {
      sps = fmt(r.sps, 0);
    },
    onStep: ({ step, recentReturn, stats }) => {
      const now = performance.now();
      if (now - lastDraw < 200 && step < totalSteps) return;
      lastDraw = now;
      const s = stats();
      bar.update(step, { sps, ret: fmt(recentReturn, 1), eps: fmt(s.epsilon, 3), loss: fmt(s.loss, 4) });
    },
    onEnd: () => bar.stop(),
  };
}

function printSummary(s: RunSummary, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  if (s.interrupted) {
    console.log(`interrupted at step ${s.steps} of ${s.totalSteps}; checkpoint: ${s.checkpoint}`);
    console.log(`resume with: kairos train --resume ${s.runDir}`);
    return;
  }
  console.log(`${s.algorithm} on ${s.env} (seed ${s.seed}): ${s.steps} steps, ${s.episodes} episodes in ${s.seconds.toFixed(1)} s (${s.sps.toFixed(0)} steps/s)`);
  if (s.finalEvaluation) {
    const e = s.finalEvaluation;
    console.log(`final evaluation: mean return ${e.meanReturn.toFixed(2)} ± ${e.stdReturn.toFixed(2)} over ${e.episodes} episodes`);
  }
  if (s.bestEvaluation && s.bestEvaluation.step !== s.steps) {
    const b = s.bestEvaluation;
    console.log(`best evaluation: mean return ${b.meanReturn.toFixed(2)} ± ${b.stdReturn.toFixed(2)} at step ${b.step} (model/best.kst; kairos eval --best)`);
  }
  console.log(`run folder: ${s.runDir}`);
}

/** Runs `kairos train`; returns the exit code (130 after Ctrl-C, as shells expect). */
export async function trainCommand(algorithm: string | undefined, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(TrainOptions, raw, 'train');
  await initTensorBackend();
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: stop now
    process.stderr.write('\nkairos: stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    let summary: RunSummary;
    if (opts.resume) {
      if (algorithm) throw new KairosError('--resume continues a saved run: give the run folder only, not an algorithm', 'invalid_option');
      const spec = JSON.parse(fs.readFileSync(path.join(opts.resume, 'run.json'), 'utf8').toString()) as { totalSteps: number };
      summary = await resumeRun(opts.resume, { signal: controller.signal, callbacks: [progressCallback(spec.totalSteps, opts.progress && !opts.json)] });
    } else {
      if (!algorithm) throw new KairosError(`train: name an algorithm (${listAgents().map((a) => a.algorithm).join(', ')}) or --resume <run>`, 'invalid_option');
      if (!opts.env) throw new KairosError('--env: required, e.g. --env CartPole-v1', 'invalid_option');
      const registration = getAgentRegistration(algorithm);
      const preset = opts.preset ? registration.presets?.[opts.env] : undefined;
      if (preset && !opts.json) console.log(`using the ${algorithm} preset for ${opts.env} (${preset.source})`);
      const config = merge(preset?.config ?? {}, opts.config ? readConfigFile(opts.config) : {});
      const totalSteps = opts.steps ?? preset?.totalSteps ?? 100_000;
      const spec: RunSpecInput = {
        algorithm,
        env: { id: opts.env, options: parseJsonObject(opts.options, '--options') },
        totalSteps,
        seed: opts.seed,
        config,
        numEnvs: opts.numEnvs ?? preset?.numEnvs ?? 1,
        ...(opts.evalEvery !== undefined ? { evalEvery: opts.evalEvery } : {}),
        ...(opts.evalEpisodes !== undefined ? { evalEpisodes: opts.evalEpisodes } : {}),
        ...(opts.finalEvalEpisodes !== undefined ? { finalEvalEpisodes: opts.finalEvalEpisodes } : {}),
        ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
      };
      const runDir = opts.runDir ?? path.join('runs', `${algorithm}-${opts.env}-s${opts.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      summary = await startRun(spec, {
        runDir,
        overwrite: opts.overwrite,
        signal: controller.signal,
        callbacks: [progressCallback(totalSteps, opts.progress && !opts.json)],
      });
    }
    printSummary(summary, opts.json);
    return summary.interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
