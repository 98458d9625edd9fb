/**
 * The env checker: turns the Env contract (`env.ts`) into checks, the way Gymnasium 1.x's
 * `gymnasium.utils.env_checker.check_env` and its passive checker
 * (`gymnasium.utils.passive_env_checker`) do, with SB3's `common.env_checker` advice on
 * action spaces. Run it on every new env before training on it.
 *
 * Checks, each reported as `[name] what happened: expected ..., received ...`:
 * - `spaces`: both spaces implement Space; `space-sample`: a sample lies in its space;
 *   `box-bounds`: low <= high, warns where low == high;
 * - `action-space` (warnings): a continuous action Box should be bounded, symmetric and
 *   normalised to [-1, 1] (SB3; tanh policies and clipping assume it); integer Boxes
 *   should be Discrete/MultiDiscrete; `observation-space` (warnings): image-shaped Boxes
 *   should be uint8 in [0, 255] (Gymnasium's passive checker);
 * - `step-before-reset` (warning): `step` before `reset` should throw a KairosError with
 *   code `reset_needed` (OrderEnforcing, applied by `make`);
 * - `reset`: returns `{ observation, info }`, the observation in the space, info an
 *   object; `observation-dtype` (warning): Box observations use the space's typed array;
 * - `reset-seed`: the same seed gives the same observation; `reset-seed-differs`
 *   (warning): different seeds give different observations where the space has more
 *   than one element; `reset-no-seed`: `reset()` after a seeded reset continues the
 *   seeded stream deterministically (Gymnasium: no seed must not re-seed);
 * - `step`: returns the five fields with the right types: reward a finite number,
 *   terminated/truncated booleans, info an object, the observation in the space;
 * - `step-determinism`: the same seed and actions give the same transitions;
 * - `observation-ownership`: an observation, once returned, is never changed by later
 *   calls and never returned again (it belongs to the caller);
 * - `action-mask`, `reward-vector`, `info-episode`: when present, `info.actionMask`,
 *   `info.rewardVector` and `info.episode` have the shapes the conventions fix;
 * - `render`: when the env has a `render()` method, it runs without throwing.
 *
 * The checker resets and steps the env (seeded with `options.seed`) but does not close it.
 *
 * @example
 * const report = checkEnv(make('CartPole-v1'));
 * if (!report.ok) console.error(report.errors.join('\n'));
 * checkEnv(myEnv, { throwOnError: true }); // throws an EnvCheckError listing the failures
 */
import { KairosError, describeValue } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { Box, Discrete, MultiBinary, MultiDiscrete, isSpace, typedArrayFor, type Space } from '../core/spaces.js';
import type { Env, Info } from './env.js';

/** Options of {@link checkEnv}. */
export interface CheckEnvOptions {
  /** Seed of the checked resets and of the action sampler (default 0). */
  seed?: number;
  /** Random-play steps checked, across episodes (default 200). */
  steps?: number;
  /** Skip calling `render()` (Gymnasium's `skip_render_check`). */
  skipRenderCheck?: boolean;
  /** Report every failure as a warning; `ok` is then always true. */
  warnOnly?: boolean;
  /** Throw an {@link EnvCheckError} when a check fails (ignored with `warnOnly`). */
  throwOnError?: boolean;
}

/** What {@link checkEnv} found. */
export interface CheckReport {
  /** True when no check failed (warnings allowed). */
  ok: boolean;
  errors: string[];
  warnings: string[];
}

/**
 * Thrown by `checkEnv(env, { throwOnError: true })`; carries the report.
 *
 * @example
 * try { checkEnv(env, { throwOnError: true }); } catch (e) { if (e instanceof EnvCheckError) console.log(e.report.errors); }
 */
export class EnvCheckError extends KairosError {
  constructor(readonly report: CheckReport) {
    super(`env checker: ${report.errors.length} check(s) failed:\n${report.errors.map((e) => `- ${e}`).join('\n')}`, 'env_check_failed');
    this.name = 'EnvCheckError';
  }
}

/** Collects at most one message per check, so one broken field does not flood the report. */
class Findings {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  error(check: string, message: string): void {
    if (this.seen.has(`e:${check}`)) return;
    this.seen.add(`e:${check}`);
    this.errors.push(`[${check}] ${message}`);
  }
  warn(check: string, message: string): void {
    if (this.seen.has(`w:${check}`)) return;
    this.seen.add(`w:${check}`);
    this.warnings.push(`[${check}] ${message}`);
  }
  has(check: string): boolean {
    return this.seen.has(`e:${check}`);
  }
}

/**
 * Checks `env` against the Env contract and returns what failed (errors) and what is
 * legal but likely a mistake (warnings).
 *
 * @example
 * const { ok, errors, warnings } = checkEnv(make('CartPole-v1'), { seed: 1 });
 */
export function checkEnv(env: Env<any, any>, options: CheckEnvOptions = {}): CheckReport {
  const { seed = 0, steps = 200, skipRenderCheck = false, warnOnly = false, throwOnError = false } = options;
  const f = new Findings();
  runChecks(env, f, seed, steps, skipRenderCheck);
  const report: CheckReport = warnOnly
    ? { ok: true, errors: [], warnings: [...f.warnings, ...f.errors] }
    : { ok: f.errors.length === 0, errors: f.errors, warnings: f.warnings };
  if (throwOnError && !report.ok) throw new EnvCheckError(report);
  return report;
}

function runChecks(env: Env<any, any>, f: Findings, seed: number, steps: number, skipRenderCheck: boolean): void {
  if (env === null || typeof env !== 'object' || typeof env.reset !== 'function' || typeof env.step !== 'function') {
    f.error('env', `expected an object with reset() and step() methods, received ${describeValue(env)}`);
    return;
  }
  const obsSpace = env.observationSpace;
  const actSpace = env.actionSpace;
  if (!isSpace(obsSpace)) f.error('spaces', `observationSpace: expected a Space (sample, contains, toJSON), received ${describeValue(obsSpace)}`);
  if (!isSpace(actSpace)) f.error('spaces', `actionSpace: expected a Space (sample, contains, toJSON), received ${describeValue(actSpace)}`);
  if (f.has('spaces')) return;

  const rng = new Rng(seed);
  checkBoxBounds(f, 'observationSpace', obsSpace);
  checkBoxBounds(f, 'actionSpace', actSpace);
  checkSpaceSample(f, 'observationSpace', obsSpace, rng);
  checkSpaceSample(f, 'actionSpace', actSpace, rng);
  checkActionSpaceAdvice(f, actSpace);
  checkObservationSpaceAdvice(f, obsSpace);

  checkStepBeforeReset(f, env, actSpace, rng);

  // --- reset ---------------------------------------------------------------------------
  const first = safeReset(f, env, seed);
  if (!first) return;
  checkResetResult(f, env, first, `reset({ seed: ${seed} })`);
  if (f.has('reset')) return;
  const firstObs = cloneValue(first.observation);

  const again = safeReset(f, env, seed);
  if (!again) return;
  if (!sameValue(again.observation, firstObs)) {
    f.error('reset-seed', `reset({ seed: ${seed} }) twice gave different observations: expected ${describeValue(firstObs)} both times, received ${describeValue(again.observation)}`);
  }

  let seedsDiffer = false;
  if (spaceHasSeveralElements(obsSpace)) {
    let allSame = true;
    for (let k = 1; k <= 4 && allSame; k++) {
      const r = safeReset(f, env, seed + k);
      if (!r) return;
      if (!sameValue(r.observation, firstObs)) allSame = false;
    }
    seedsDiffer = !allSame;
    if (allSame) {
      f.warn(
        'reset-seed-differs',
        `reset with seeds ${seed}..${seed + 4} gave the same observation ${describeValue(firstObs)}: expected different initial states for different seeds (does reset pass the seed to the env's generator? ignore if the start state is fixed by design)`,
      );
    }
  }

  checkResetWithoutSeed(f, env, seed, firstObs, seedsDiffer);

  // --- random play: types, spaces, conventions, ownership -----------------------------
  const ownership = new OwnershipTracker(f);
  const r0 = safeReset(f, env, seed);
  if (!r0) return;
  ownership.add(r0.observation, 'reset');
  checkInfoConventions(f, env, r0.info, 'reset');
  let mask = maskOf(r0.info);
  let episodeStep = 0;
  for (let t = 1; t <= steps; t++) {
    const action = sampleAction(actSpace, rng, mask);
    let r;
    try {
      r = env.step(action);
    } catch (e) {
      f.error('step', `step(${describeValue(action)}) threw after ${episodeStep} step(s) of an episode: ${(e as Error)?.message ?? String(e)} (action sampled from ${String(actSpace)}${mask ? ' honouring info.actionMask' : ''})`);
      return;
    }
    episodeStep++;
    if (!checkStepResult(f, env, r, `step ${t}`)) return;
    ownership.add(r.observation, `step ${t}`);
    checkInfoConventions(f, env, r.info, `step ${t}`);
    mask = maskOf(r.info);
    if (r.terminated || r.truncated) {
      const rr = safeReset(f, env, undefined);
      if (!rr) return;
      checkResetResult(f, env, rr, `reset() after step ${t}`);
      ownership.add(rr.observation, `reset after step ${t}`);
      checkInfoConventions(f, env, rr.info, `reset after step ${t}`);
      mask = maskOf(rr.info);
      episodeStep = 0;
    }
  }
  ownership.verify();

  checkStepDeterminism(f, env, seed);

  if (!skipRenderCheck) {
    const render = (env as unknown as { render?: unknown }).render;
    if (typeof render === 'function') {
      try {
        env.reset({ seed });
        render.call(env);
      } catch (e) {
        f.error('render', `render() after reset threw: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
}

// --- spaces ----------------------------------------------------------------------------

function checkSpaceSample(f: Findings, name: string, space: Space, rng: Rng): void {
  try {
    for (let i = 0; i < 5; i++) {
      const x = space.sample(rng);
      if (!space.contains(x)) {
        f.error('space-sample', `${name}.sample() returned a value outside ${String(space)}: ${space.explain(x) ?? describeValue(x)}`);
        return;
      }
    }
  } catch (e) {
    f.error('space-sample', `${name}.sample() threw: ${(e as Error)?.message ?? String(e)}`);
  }
}

function checkBoxBounds(f: Findings, name: string, space: Space): void {
  if (!(space instanceof Box)) return;
  for (let i = 0; i < space.size; i++) {
    const lo = space.low[i];
    const hi = space.high[i];
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
      f.error('box-bounds', `${name}: expected low[${i}] <= high[${i}], received low ${lo} and high ${hi}`);
      return;
    }
  }
  for (let i = 0; i < space.size; i++) {
    if (space.low[i] === space.high[i]) {
      f.warn('box-bounds', `${name}: low[${i}] == high[${i}] == ${space.low[i]}: that dimension can take one value only (Gymnasium warns the same)`);
      return;
    }
  }
}

function checkActionSpaceAdvice(f: Findings, space: Space): void {
  if (!(space instanceof Box)) return;
  const isFloat = space.dtype === 'float32' || space.dtype === 'float64';
  if (!isFloat) {
    f.warn('action-space', `expected a float Box, Discrete or MultiDiscrete action space, received ${String(space)}: integer Boxes are not supported by continuous-control agents`);
    return;
  }
  if (!space.isBounded()) {
    f.warn(
      'action-space',
      `expected finite action bounds, received ${String(space)}: agents squash or clip actions into the bounds (Gymnasium warns for infinite bounds)`,
    );
    return;
  }
  let normalised = true;
  for (let i = 0; i < space.size; i++) if (space.low[i] !== -1 || space.high[i] !== 1) normalised = false;
  if (!normalised) {
    f.warn(
      'action-space',
      `expected a symmetric, normalised action space Box(-1, 1), received ${String(space)}: tanh-squashed and Gaussian policies assume [-1, 1]; wrap with RescaleAction(env, -1, 1) (SB3's check_env recommends the same)`,
    );
  }
}

function checkObservationSpaceAdvice(f: Findings, space: Space): void {
  if (!(space instanceof Box)) return;
  const s = space.shape;
  const imageLike = s.length === 3 && (s[2] === 1 || s[2] === 3 || s[2] === 4) && s[0] >= 8 && s[1] >= 8;
  if (!imageLike) return;
  let is0255 = true;
  for (let i = 0; i < space.size; i++) if (space.low[i] !== 0 || space.high[i] !== 255) is0255 = false;
  if (space.dtype !== 'uint8' || !is0255) {
    f.warn('observation-space', `${String(space)} looks like an image: expected dtype uint8 with bounds [0, 255] (Gymnasium's passive checker warns the same)`);
  }
}

function spaceHasSeveralElements(space: Space): boolean {
  if (space instanceof Discrete) return space.n > 1;
  if (space instanceof Box) {
    for (let i = 0; i < space.size; i++) if (space.low[i] !== space.high[i]) return true;
    return false;
  }
  if (space instanceof MultiDiscrete) return space.nvec.some((n) => n > 1);
  if (space instanceof MultiBinary) return space.size > 0;
  return true;
}

// --- reset -----------------------------------------------------------------------------

type AnyResult = { observation: unknown; info: Info; reward?: unknown; terminated?: unknown; truncated?: unknown };

function safeReset(f: Findings, env: Env<any, any>, seed: number | undefined): AnyResult | undefined {
  const call = seed === undefined ? 'reset()' : `reset({ seed: ${seed} })`;
  try {
    const r = seed === undefined ? env.reset() : env.reset({ seed });
    if (r === null || typeof r !== 'object' || !('observation' in r)) {
      f.error('reset', `${call}: expected an object { observation, info }, received ${describeValue(r)}`);
      return undefined;
    }
    return r as AnyResult;
  } catch (e) {
    f.error('reset', `${call} threw: ${(e as Error)?.message ?? String(e)}`);
    return undefined;
  }
}

function checkResetResult(f: Findings, env: Env<any, any>, r: AnyResult, call: string): void {
  if (!isInfoObject(r.info)) f.error('reset', `${call}: expected info to be an object, received ${describeValue(r.info)}`);
  const why = env.observationSpace.explain(r.observation);
  if (why !== null) f.error('reset', `${call}: observation not in ${String(env.observationSpace)}: ${why}`);
  checkObservationDtype(f, env.observationSpace, r.observation, call);
}

function checkResetWithoutSeed(f: Findings, env: Env<any, any>, seed: number, seededObs: unknown, seedsDiffer: boolean): void {
  const a = safeReset(f, env, seed);
  const a1 = a && safeReset(f, env, undefined);
  const b = a1 && safeReset(f, env, seed);
  const b1 = b && safeReset(f, env, undefined);
  if (!a1 || !b1) return;
  // Only for continuous observations: with few discrete start states a repeat is chance.
  const space = env.observationSpace;
  const continuous = space instanceof Box && (space.dtype === 'float32' || space.dtype === 'float64');
  if (continuous && seedsDiffer && sameValue(a1.observation, seededObs)) {
    f.warn(
      'reset-no-seed',
      `reset() after reset({ seed: ${seed} }) gave the seeded observation ${describeValue(seededObs)} again: expected reset() to continue the generator, not to re-seed it with the same seed (Gymnasium checks the same)`,
    );
  }
  if (!sameValue(a1.observation, b1.observation)) {
    f.error(
      'reset-no-seed',
      `reset({ seed: ${seed} }) then reset() gave different observations on two runs: expected reset() to continue the seeded generator (same ${describeValue(a1.observation)}), received ${describeValue(b1.observation)}`,
    );
  }
}

function checkObservationDtype(f: Findings, space: Space, obs: unknown, where: string): void {
  if (!(space instanceof Box) || obs === null || typeof obs !== 'object') return;
  const Expected = typedArrayFor(space.dtype);
  if (!(obs instanceof Expected)) {
    const received = ArrayBuffer.isView(obs) ? obs.constructor.name : Array.isArray(obs) ? 'Array' : describeValue(obs);
    f.warn('observation-dtype', `${where}: expected a ${Expected.name} for ${String(space)}, received a ${received}`);
  }
}

// --- step ------------------------------------------------------------------------------

function checkStepResult(f: Findings, env: Env<any, any>, r: unknown, where: string): boolean {
  if (r === null || typeof r !== 'object') {
    f.error('step', `${where}: expected an object { observation, reward, terminated, truncated, info }, received ${describeValue(r)}`);
    return false;
  }
  const s = r as AnyResult;
  const missing = ['observation', 'reward', 'terminated', 'truncated', 'info'].filter((k) => !(k in s));
  if (missing.length > 0) {
    f.error('step', `${where}: expected fields observation, reward, terminated, truncated, info; missing ${missing.join(', ')}`);
    return false;
  }
  if (typeof s.reward !== 'number') f.error('step', `${where}: expected reward to be a number, received ${describeValue(s.reward)}`);
  else if (!Number.isFinite(s.reward)) f.error('step', `${where}: expected a finite reward, received ${s.reward}`);
  if (typeof s.terminated !== 'boolean') f.error('step', `${where}: expected terminated to be a boolean, received ${describeValue(s.terminated)}`);
  if (typeof s.truncated !== 'boolean') f.error('step', `${where}: expected truncated to be a boolean, received ${describeValue(s.truncated)}`);
  if (!isInfoObject(s.info)) f.error('step', `${where}: expected info to be an object, received ${describeValue(s.info)}`);
  const why = env.observationSpace.explain(s.observation);
  if (why !== null) f.error('step', `${where}: observation not in ${String(env.observationSpace)}: ${why}`);
  checkObservationDtype(f, env.observationSpace, s.observation, where);
  return true;
}

function checkStepDeterminism(f: Findings, env: Env<any, any>, seed: number): void {
  const run = () => {
    const rng = new Rng(seed + 1);
    const out: unknown[] = [];
    let r: AnyResult = env.reset({ seed }) as AnyResult;
    out.push(cloneValue(r.observation));
    for (let t = 0; t < 20; t++) {
      const a = sampleAction(env.actionSpace, rng, maskOf(r.info));
      const s = env.step(a) as AnyResult;
      out.push([cloneValue(s.observation), s.reward, s.terminated, s.truncated]);
      r = s;
      if (s.terminated || s.truncated) break;
    }
    return out;
  };
  try {
    const a = run();
    const b = run();
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (!sameValue(a[i], b[i])) {
        f.error(
          'step-determinism',
          `reset({ seed: ${seed} }) and the same actions gave different transitions at step ${i}: expected [obs, reward, terminated, truncated] = ${describeValue(a[i])}, received ${describeValue(b[i])}`,
        );
        return;
      }
    }
  } catch (e) {
    // Errors of reset/step themselves were reported by the earlier checks.
    if (!f.has('step') && !f.has('reset')) f.error('step-determinism', `replaying a seeded episode threw: ${(e as Error)?.message ?? String(e)}`);
  }
}

// --- info conventions -------------------------------------------------------------------

function isInfoObject(info: unknown): boolean {
  return info !== null && typeof info === 'object' && !Array.isArray(info) && !ArrayBuffer.isView(info);
}

function maskOf(info: Info | undefined): Uint8Array | undefined {
  const m = info?.actionMask;
  return m instanceof Uint8Array ? m : undefined;
}

function checkInfoConventions(f: Findings, env: Env<any, any>, info: Info, where: string): void {
  if (!isInfoObject(info)) return;
  if ('actionMask' in info && info.actionMask !== undefined) {
    const m = info.actionMask as unknown;
    const space = env.actionSpace;
    const n = space instanceof Discrete ? space.n : space instanceof MultiDiscrete ? space.nvec.reduce((a, b) => a + b, 0) : undefined;
    if (n === undefined) {
      f.error('action-mask', `${where}: info.actionMask is for Discrete or MultiDiscrete action spaces, received one with ${String(space)}`);
    } else if (!(m instanceof Uint8Array)) {
      f.error('action-mask', `${where}: expected info.actionMask to be a Uint8Array of length ${n}, received ${describeValue(m)}`);
    } else if (m.length !== n) {
      f.error('action-mask', `${where}: expected info.actionMask of length ${n} for ${String(space)}, received length ${m.length}`);
    } else if (m.some((v) => v !== 0 && v !== 1)) {
      f.error('action-mask', `${where}: expected info.actionMask values 0 or 1, received ${describeValue(m)}`);
    } else if (!m.some((v) => v === 1)) {
      f.warn('action-mask', `${where}: info.actionMask allows no action: expected at least one 1, received ${describeValue(m)}`);
    }
  }
  if ('rewardVector' in info && info.rewardVector !== undefined) {
    const v = info.rewardVector as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
      f.error('reward-vector', `${where}: expected info.rewardVector to be an object of named numbers, received ${describeValue(v)}`);
    } else {
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          f.error('reward-vector', `${where}: expected info.rewardVector.${k} to be a finite number, received ${describeValue(x)}`);
          break;
        }
      }
    }
  }
  if ('episode' in info && info.episode !== undefined) {
    const e = info.episode as unknown as Record<string, unknown>;
    const ok = e !== null && typeof e === 'object' && ['r', 'l', 't'].every((k) => typeof e[k] === 'number');
    if (!ok) f.error('info-episode', `${where}: expected info.episode = { r, l, t } (numbers), received ${describeValue(e)}`);
  }
}

// --- step before reset --------------------------------------------------------------------

function checkStepBeforeReset(f: Findings, env: Env<any, any>, actSpace: Space, rng: Rng): void {
  const action = sampleAction(actSpace, rng, undefined);
  try {
    env.step(action);
    f.warn(
      'step-before-reset',
      "step() before reset() returned a result: expected a KairosError with code 'reset_needed' (wrap with OrderEnforcing, which make() applies; ignore if the env had been reset before checkEnv)",
    );
  } catch (e) {
    if (!(e instanceof KairosError && e.code === 'reset_needed')) {
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      f.warn('step-before-reset', `step() before reset() threw ${what}: expected a KairosError with code 'reset_needed' (wrap with OrderEnforcing, which make() applies)`);
    }
  }
}

// --- actions -----------------------------------------------------------------------------

function sampleAction(space: Space, rng: Rng, mask: Uint8Array | undefined): unknown {
  if (mask && space instanceof Discrete && mask.length === space.n) return space.sample(rng, mask);
  if (mask && space instanceof MultiDiscrete) {
    const total = space.nvec.reduce((a, b) => a + b, 0);
    if (mask.length === total) {
      const out = new Int32Array(space.nvec.length);
      let offset = 0;
      for (let i = 0; i < out.length; i++) {
        out[i] = new Discrete(space.nvec[i], space.start[i]).sample(rng, mask.subarray(offset, offset + space.nvec[i]));
        offset += space.nvec[i];
      }
      return out;
    }
  }
  return space.sample(rng);
}

// --- values ------------------------------------------------------------------------------

/** Remembers every observation returned and checks none is changed or returned twice. */
class OwnershipTracker {
  private readonly entries: Array<{ ref: unknown; copy: unknown; where: string }> = [];
  private readonly refs = new Map<object, string>();
  constructor(private readonly f: Findings) {}

  add(obs: unknown, where: string): void {
    for (const o of containers(obs)) {
      const prev = this.refs.get(o);
      if (prev !== undefined) {
        this.f.error(
          'observation-ownership',
          `${where} returned the same ${o.constructor.name} object as ${prev}: expected a new array per observation (the caller owns it and may modify it)`,
        );
      } else {
        this.refs.set(o, where);
      }
    }
    this.entries.push({ ref: obs, copy: cloneValue(obs), where });
    // Check the previous observations now: a shared buffer shows up at the next call.
    for (let i = Math.max(0, this.entries.length - 3); i < this.entries.length - 1; i++) this.compare(this.entries[i], where);
  }

  verify(): void {
    for (const e of this.entries) this.compare(e, 'the end of the check');
  }

  private compare(e: { ref: unknown; copy: unknown; where: string }, now: string): void {
    if (!sameValue(e.ref, e.copy)) {
      this.f.error(
        'observation-ownership',
        `the observation returned by ${e.where} changed by ${now}: expected ${describeValue(e.copy)} unchanged (envs must not mutate an observation they returned), received ${describeValue(e.ref)}`,
      );
    }
  }
}

/** Objects inside an observation (typed arrays, arrays, plain objects). */
function containers(v: unknown, out: object[] = []): object[] {
  if (v === null || typeof v !== 'object') return out;
  out.push(v);
  if (Array.isArray(v)) for (const x of v) containers(x, out);
  else if (!ArrayBuffer.isView(v)) for (const x of Object.values(v)) containers(x, out);
  return out;
}

function cloneValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return (v as unknown as { slice(): unknown }).slice();
  if (Array.isArray(v)) return v.map(cloneValue);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = cloneValue(x);
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  const aArr = ArrayBuffer.isView(a) || Array.isArray(a);
  const bArr = ArrayBuffer.isView(b) || Array.isArray(b);
  if (aArr !== bArr) return false;
  if (aArr) {
    const x = a as ArrayLike<unknown>;
    const y = b as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}
