/**
 * The env registry: `register` an id once, `make(id, opts)` builds it with the
 * registered defaults applied (options validated by the env's zod schema, then the
 * TimeLimit and OrderEnforcing wrappers, as gymnasium.make does).
 *
 * @example
 * const env = make('LunarLander-v3', { continuous: true });
 * listEnvs().map((s) => s.id);
 */
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../core/errors.js';
import type { Env, EnvSpec } from './env.js';
import { OrderEnforcing } from './wrappers/order-enforcing.js';
import { TimeLimit } from './wrappers/time-limit.js';

/** What {@link register} needs to build an env. */
export interface EnvRegistration<Opts extends Record<string, unknown> = Record<string, unknown>> {
  /** `Name-vN`, e.g. `CartPole-v1`. */
  id: string;
  /** Builds the raw (unwrapped) env from validated options. */
  entryPoint: (opts: Opts) => Env<any, any>;
  /** Validates and fills defaults of the env's options; unknown keys are rejected. */
  optionsSchema?: z.ZodType<Opts>;
  /** Default TimeLimit; `make(id, { maxEpisodeSteps })` overrides it. */
  maxEpisodeSteps?: number;
  rewardThreshold?: number;
  /** One line for `kairos envs`. */
  description?: string;
}

/** Options every env accepts through {@link make}, next to its own ones. */
export interface MakeOptions {
  /** Overrides the registered time limit; `null` removes it. */
  maxEpisodeSteps?: number | null;
  /** Skip the OrderEnforcing wrapper (for benchmarks of the raw env). */
  disableOrderEnforcing?: boolean;
  [key: string]: unknown;
}

const registry = new Map<string, EnvRegistration<any>>();

const ID_PATTERN = /^(?:[\w.-]+\/)?[A-Za-z][\w.:-]*-v\d+$/;

/** Registers an env id. Registering an existing id replaces it (with a warning-free overwrite for hot reload). */
export function register<Opts extends Record<string, unknown>>(registration: EnvRegistration<Opts>): void {
  if (!ID_PATTERN.test(registration.id)) {
    throw new ValidationError('id', 'an id of the form Name-vN (e.g. "CartPole-v1")', registration.id, 'register');
  }
  if (typeof registration.entryPoint !== 'function') {
    throw new ValidationError('entryPoint', 'a function returning an Env', registration.entryPoint, `register ${registration.id}`);
  }
  registry.set(registration.id, registration);
}

/** The registration for `id`, or a {@link KairosError} listing close ids. */
export function getRegistration(id: string): EnvRegistration {
  const reg = registry.get(id);
  if (reg) return reg;
  const ids = [...registry.keys()].sort();
  const base = id.replace(/-v\d+$/, '').toLowerCase();
  const close = ids.filter((k) => k.replace(/-v\d+$/, '').toLowerCase() === base || editDistance(k.toLowerCase(), id.toLowerCase()) <= 3);
  const hint = close.length > 0 ? `did you mean ${close.map((c) => `"${c}"`).join(' or ')}?` : `registered ids: ${ids.join(', ')}`;
  throw new KairosError(`unknown env id "${id}": ${hint}`, 'unknown_env');
}

/**
 * Builds a registered env. Options are validated against the env's schema (unknown or
 * badly typed options throw a {@link ValidationError} naming the option).
 */
export function make<Obs = unknown, Act = unknown>(id: string, opts: MakeOptions = {}): Env<Obs, Act> {
  const reg = getRegistration(id);
  const { maxEpisodeSteps: limitOverride, disableOrderEnforcing, ...envOpts } = opts;
  if (limitOverride !== undefined && limitOverride !== null && (!Number.isInteger(limitOverride) || limitOverride <= 0)) {
    throw new ValidationError('maxEpisodeSteps', 'a positive integer or null', limitOverride, `make ${id}`);
  }
  const parsed = reg.optionsSchema ? parseWith(reg.optionsSchema, envOpts, `make ${id}`) : envOpts;
  if (!reg.optionsSchema && Object.keys(envOpts).length > 0) {
    throw new ValidationError(Object.keys(envOpts)[0], 'no options (this env takes none)', envOpts[Object.keys(envOpts)[0]], `make ${id}`);
  }
  let env: Env<any, any> = reg.entryPoint(parsed);
  const maxEpisodeSteps = limitOverride === null ? undefined : (limitOverride ?? reg.maxEpisodeSteps);
  const spec: EnvSpec = {
    id,
    maxEpisodeSteps,
    rewardThreshold: reg.rewardThreshold,
    kwargs: Object.freeze({ ...parsed }),
  };
  env.spec = spec;
  if (maxEpisodeSteps !== undefined) env = new TimeLimit(env, maxEpisodeSteps);
  // Outermost, so it also sees truncation by the time limit.
  if (!disableOrderEnforcing) env = new OrderEnforcing(env);
  env.spec = spec;
  return env as Env<Obs, Act>;
}

/** All registered specs (without building the envs), sorted by id. */
export function listEnvs(): Array<EnvRegistration & { id: string }> {
  return [...registry.values()].sort((a, b) => a.id.localeCompare(b.id));
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
