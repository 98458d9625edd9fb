/**
 * Behaviour logging from a simulator: run a behaviour policy in a registered discrete-action
 * env for N episodes and write every decision, with the exact probability it was taken with,
 * to a DuckDB decision log (the schema of `schema.ts`, through the in-process writer).
 *
 * Per decision: mdp_id (`<idPrefix><k>`, zero-padded so string order is episode order),
 * sequence_number (the step, from 0), a synthetic timestamp (episode k starts k hours after
 * `startTime`, one second per step), the flattened observation as the state features, the
 * action, its propensity, the possible actions (`info.actionMask` of the state the decision was
 * taken in, else NULL = all), the reward and the named components of `info.rewardVector`, and
 * the terminal flag (`terminated`; a time-limit truncation ends the episode with a non-terminal
 * last row, which the timeline treats as truncated).
 *
 * Behaviour policies are batch policies (the `TargetPolicy` interface of `target-policy.ts`):
 * every step, all running episodes' states go through one `probabilities` call, then each
 * episode's action is drawn from its row with inverse-CDF sampling. The logged propensity is
 * the very number the draw used, so the log's propensities are exactly the behaviour
 * probabilities. Shipped behaviours ({@link behaviourPolicy}):
 *
 * - `random`: uniform over the possible actions;
 * - `heuristic` (`heuristicFor(env, options)`): ε-greedy, P(a) = ε/k + (1 − ε)·[a = h(x)] over
 *   the k possible actions; or softmax with temperature T over the distance to the heuristic's
 *   action, P(a) ∝ exp(−|a − h(x)| / T), which suits ordered actions (a number of ads, a send
 *   level); with neither, ε = 0.1;
 * - `run`: a trained run folder (`loadRunAgent`) through `agentTargetPolicy`: ε-greedy or
 *   softmax of its Q-values, or its own `exploring`/`greedy` policy; with neither, ε = 0.1 for
 *   value-based agents and the agent's own stochastic policy otherwise.
 *
 * Seeding: a generator seeded with `seed` draws, in episode order, each episode's env seed and
 * the seed of its own action stream, so the log depends on `seed` only (not on `parallel`): the
 * same seed gives the same decisions. Episodes run `parallel` at a time and share one policy
 * call per step.
 *
 * The result carries the behaviour policy's on-policy value (mean discounted and undiscounted
 * return over the logged episodes), the ground truth an off-policy estimate of the logging
 * policy should reproduce; it is also stored in the log's metadata (`readSimulationInfo`).
 *
 * @example
 * const sim = await simulateLog({ env: 'AdsSupply-v0', out: 'ads.duckdb', episodes: 2000, seed: 0,
 *   policy: { kind: 'heuristic', epsilon: 0.3 } });
 * sim.meanReturn;   // the logging policy's value
 * sim.decisions;    // rows written
 */
import { existsSync, rmSync } from 'node:fs';
import { z } from 'zod';
import { KairosError, ValidationError, parseWith } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { Discrete, flatdim, flattenInto } from '../core/spaces.js';
import '../envs/builtin.js';
import type { Env, Info } from '../envs/env.js';
import { heuristicFor, heuristicIds } from '../envs/heuristics.js';
import { make } from '../envs/registry.js';
import { sqlString } from './engine.js';
import { METADATA_TABLE, type Decision } from './schema.js';
import { LogStore } from './store.js';
import { uniformTargetPolicy, type PolicyBatch, type TargetPolicy } from './target-policy.js';
import type { LogSource } from './timeline.js';

/**
 * Behaviour policies by description; see the module comment.
 *
 * @example
 * parseWith(BehaviourSpecSchema, { kind: 'heuristic', epsilon: 0.3 }); // ok
 * parseWith(BehaviourSpecSchema, { kind: 'run', runDir: 'runs/ads', temperature: 0.5 }); // softmax of its Q-values
 */
export const BehaviourSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('random') }),
  z.strictObject({
    kind: z.literal('heuristic'),
    /** ε-greedy around the heuristic's action. */
    epsilon: z.number().min(0).max(1).optional(),
    /** Softmax over −|a − h(x)| / T. */
    temperature: z.number().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal('run'),
    /** A run folder from `kairos train` or `kairos train-offline`. */
    runDir: z.string().min(1),
    /** How to form the probabilities (default: from epsilon / temperature, see the module comment). */
    mode: z.enum(['greedy', 'exploring', 'softmax', 'epsilon-greedy']).optional(),
    epsilon: z.number().min(0).max(1).optional(),
    temperature: z.number().positive().optional(),
  }),
]);
/** A behaviour policy description, e.g. `{ kind: 'heuristic', temperature: 1 }`. */
export type BehaviourSpec = z.input<typeof BehaviourSpecSchema>;

/** Options of {@link simulateLog}. */
export interface SimulateOptions {
  /** Registered env id (discrete actions), e.g. `AdsSupply-v0`. */
  env: string;
  /** Options for `make` (the env's own options). */
  envOptions?: Record<string, unknown>;
  /** Override the registered time limit. */
  maxEpisodeSteps?: number;
  /** The `.duckdb` file to write (must not exist unless `overwrite`), or `:memory:` with `store`. */
  out?: string;
  /** Write into this open, empty store instead of a file (kept open). */
  store?: LogStore;
  /** Replace an existing `out` file. */
  overwrite?: boolean;
  /** Episodes to log. */
  episodes: number;
  /** Seed of everything random (default 0). */
  seed?: number;
  /** The behaviour policy: a description, or any batch policy (its probabilities are sampled from). */
  policy: BehaviourSpec | TargetPolicy;
  /** Discount of the reported discounted return (default 0.99). */
  gamma?: number;
  /** Episodes run side by side, sharing one policy call per step (default 32). */
  parallel?: number;
  /** Episode ids are `<idPrefix><k>` (default `ep`). */
  idPrefix?: string;
  /** Timestamp of episode 0's first decision (default 2024-01-01T00:00:00Z). */
  startTime?: Date | number;
  /** Rows per commit (default 10 000). */
  batchRows?: number;
  /** Called after each finished episode (e.g. a progress bar). */
  onEpisode?: (index: number, ret: number, length: number) => void;
}

/** What {@link simulateLog} returns; the value figures are those of the logged episodes. */
export interface SimulationResult {
  /** The log file (or `:memory:`). */
  path: string;
  env: string;
  envOptions: Record<string, unknown>;
  /** Name of the behaviour policy. */
  policy: string;
  episodes: number;
  decisions: number;
  seed: number;
  gamma: number;
  featureDim: number;
  numActions: number;
  rewardComponents: string[];
  /** Mean, population std and standard error of the undiscounted return. */
  meanReturn: number;
  stdReturn: number;
  stderrReturn: number;
  /** The same for the discounted return Σ_t γ^t r_t. */
  meanDiscountedReturn: number;
  stdDiscountedReturn: number;
  stderrDiscountedReturn: number;
  meanLength: number;
  /** Mean per episode of each reward component's sum. */
  meanRewardComponents: Record<string, number>;
  seconds: number;
}

const DEFAULT_EPSILON = 0.1;
const SIMULATION_KEY = 'simulation';
const TOLERANCE = 1e-6;

// --- Behaviour policies ----------------------------------------------------------------------

/** Number of possible actions of row i (all when masks is null). */
function possibleCount(masks: Uint8Array | null, i: number, k: number): number {
  if (!masks) return k;
  let m = 0;
  for (let a = 0; a < k; a++) m += masks[i * k + a];
  return m;
}

/**
 * ε-greedy or distance-softmax around a heuristic as a batch policy (see the module comment).
 * `heuristic` maps a flattened observation to an action.
 *
 * @example
 * const mu = heuristicBehaviour(heuristicFor('AdsSupply-v0')!, 6, { temperature: 1 });
 */
export function heuristicBehaviour(
  heuristic: (obs: Float32Array) => number | Float32Array,
  numActions: number,
  options: { epsilon?: number; temperature?: number; name?: string } = {},
): TargetPolicy {
  const { epsilon, temperature } = options;
  if (epsilon !== undefined && temperature !== undefined) {
    throw new ValidationError('temperature', 'no temperature together with epsilon (one of the two)', temperature, 'heuristic behaviour');
  }
  if (temperature !== undefined && !(temperature > 0)) throw new ValidationError('temperature', 'a positive number', temperature, 'heuristic behaviour');
  const eps = temperature === undefined ? (epsilon ?? DEFAULT_EPSILON) : 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValidationError('epsilon', 'a number in [0, 1]', epsilon, 'heuristic behaviour');
  const k = numActions;
  const name = options.name ?? (temperature !== undefined ? `heuristic:softmax(T=${temperature})` : `heuristic:epsilon-greedy(ε=${eps})`);
  return {
    name,
    numActions: k,
    probabilities(batch: PolicyBatch, out: Float64Array) {
      const d = batch.featureDim;
      const masks = batch.masks;
      for (let i = 0; i < batch.n; i++) {
        const h = heuristic(batch.features.subarray(i * d, (i + 1) * d));
        if (typeof h !== 'number' || !Number.isInteger(h) || h < 0 || h >= k) {
          throw new ValidationError('heuristic action', `an integer in [0, ${k})`, h, `${name} at mdp_id ${JSON.stringify(batch.mdpIds[i])}, step ${batch.sequenceNumbers[i]}`);
        }
        if (masks && !masks[i * k + h]) {
          throw new ValidationError('heuristic action', 'a possible action (the env masks it out)', h, `${name} at mdp_id ${JSON.stringify(batch.mdpIds[i])}, step ${batch.sequenceNumbers[i]}`);
        }
        const row = i * k;
        if (temperature !== undefined) {
          // P(a) ∝ exp(−|a − h| / T) over the possible actions; h itself has the largest weight.
          let z = 0;
          for (let a = 0; a < k; a++) if (!masks || masks[row + a]) z += out[row + a] = Math.exp(-Math.abs(a - h) / temperature);
          for (let a = 0; a < k; a++) out[row + a] /= z;
        } else {
          const m = possibleCount(masks, i, k);
          for (let a = 0; a < k; a++) if (!masks || masks[row + a]) out[row + a] = eps / m + (a === h ? 1 - eps : 0);
        }
      }
    },
  };
}

/**
 * A behaviour policy built by {@link behaviourPolicy}; `dispose` frees what it loaded (an agent).
 *
 * @example
 * const { policy, dispose } = await behaviourPolicy({ kind: 'random' }, 'GridWorld-v0');
 * dispose();
 */
export interface LoadedBehaviour {
  policy: TargetPolicy;
  dispose(): void;
}

/**
 * Builds the behaviour policy a {@link BehaviourSpec} describes for `env` (with its make
 * options, which the heuristic depends on). A run folder is loaded with `loadRunAgent` (the
 * tensor backend is initialised with its defaults if no backend is set yet); call `dispose`
 * when done.
 *
 * @example
 * const { policy, dispose } = await behaviourPolicy({ kind: 'run', runDir: 'runs/ads', epsilon: 0.2 }, 'AdsSupply-v0');
 */
export async function behaviourPolicy(spec: BehaviourSpec, env: string, envOptions: Record<string, unknown> = {}): Promise<LoadedBehaviour> {
  const s = parseWith(BehaviourSpecSchema, spec, 'behaviour policy');
  if ('epsilon' in s && 'temperature' in s && s.epsilon !== undefined && s.temperature !== undefined) {
    throw new ValidationError('temperature', 'either epsilon or temperature, not both', s.temperature, 'behaviour policy');
  }
  const numActions = discreteActionsOf(env, envOptions);
  if (s.kind === 'random') return { policy: uniformTargetPolicy(numActions), dispose: () => undefined };
  if (s.kind === 'heuristic') {
    const h = heuristicFor(env, envOptions);
    if (!h) throw new ValidationError('policy', `random, a run folder, or heuristic for an env with one (${heuristicIds().join(', ')})`, 'heuristic', `behaviour policy for ${env}`);
    return { policy: heuristicBehaviour(h, numActions, { epsilon: s.epsilon, temperature: s.temperature }), dispose: () => undefined };
  }
  const { initTensorBackend, tensorBackendInfo } = await import('../tensor/backend.js');
  if (!tensorBackendInfo()) await initTensorBackend();
  const { loadRunAgent } = await import('../train/run.js');
  const { agentTargetPolicy } = await import('../agents/target-policy.js');
  const agent = await loadRunAgent(s.runDir);
  try {
    const mode = s.mode ?? (s.temperature !== undefined ? 'softmax' : s.epsilon !== undefined || agent.qValues ? 'epsilon-greedy' : 'exploring');
    const epsilon = mode === 'epsilon-greedy' ? (s.epsilon ?? DEFAULT_EPSILON) : s.epsilon;
    const policy = agentTargetPolicy(agent, { mode, epsilon, temperature: s.temperature, name: `run ${s.runDir} (${agent.algorithm}, ${mode}${mode === 'epsilon-greedy' ? `, ε=${epsilon}` : mode === 'softmax' ? `, T=${s.temperature}` : ''})` });
    return { policy, dispose: () => agent.dispose() };
  } catch (err) {
    agent.dispose();
    throw err;
  }
}

function discreteActionsOf(env: string, envOptions: Record<string, unknown>): number {
  const e = make(env, envOptions);
  try {
    const space = e.actionSpace;
    if (!(space instanceof Discrete) || space.start !== 0) {
      throw new ValidationError('env', 'an env with Discrete(n) actions starting at 0 (the log stores action indices)', `${env} with ${String(space)}`, 'simulateLog');
    }
    return space.n;
  } finally {
    e.close?.();
  }
}

// --- Simulation ------------------------------------------------------------------------------

const SimulateOptionsSchema = z
  .object({
    env: z.string().min(1),
    envOptions: z.record(z.string(), z.unknown()).default({}),
    maxEpisodeSteps: z.number().int().positive().optional(),
    out: z.string().min(1).optional(),
    store: z.custom<LogStore>((v) => v instanceof LogStore, 'an open LogStore').optional(),
    overwrite: z.boolean().default(false),
    episodes: z.number().int().positive(),
    seed: z.number().int().nonnegative().max(2 ** 53 - 1).default(0),
    policy: z.unknown(),
    gamma: z.number().min(0).max(1).default(0.99),
    parallel: z.number().int().positive().max(4096).default(32),
    idPrefix: z.string().regex(/^[A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : -').default('ep'),
    startTime: z.union([z.date(), z.number()]).default(Date.UTC(2024, 0, 1)),
    batchRows: z.number().int().positive().default(10_000),
    onEpisode: z.custom<(index: number, ret: number, length: number) => void>((v) => typeof v === 'function', 'a function').optional(),
  })
  .strict();

function isTargetPolicy(p: unknown): p is TargetPolicy {
  return p !== null && typeof p === 'object' && typeof (p as TargetPolicy).probabilities === 'function';
}

/** Reward component names from one probe step (a separate env, so the run is untouched). */
function probeComponents(makeEnv: () => Env<unknown, number>, seed: number): string[] {
  const env = makeEnv();
  try {
    const { info } = env.reset({ seed });
    const mask = info.actionMask;
    let a = 0;
    if (mask) while (a < mask.length && !mask[a]) a++;
    const r = env.step(a);
    return r.info.rewardVector ? Object.keys(r.info.rewardVector).sort() : [];
  } finally {
    env.close?.();
  }
}

interface Slot {
  env: Env<unknown, number>;
  episode: number;
  mdpId: string;
  step: number;
  ret: number;
  discounted: number;
  discount: number;
  rng: Rng;
  components: Float64Array;
}

/**
 * Runs the behaviour policy in the simulator and writes the decision log; see the module
 * comment. Returns the log's size and the behaviour policy's on-policy value.
 *
 * @example
 * const sim = await simulateLog({ env: 'GridWorld-v0', out: 'grid.duckdb', episodes: 500, policy: { kind: 'random' } });
 */
export async function simulateLog(options: SimulateOptions): Promise<SimulationResult> {
  const o = parseWith(SimulateOptionsSchema, options, 'simulateLog');
  if (!o.out && !o.store) throw new ValidationError('out', 'a .duckdb path to write (or an open store)', undefined, 'simulateLog');
  if (o.out && o.store) throw new ValidationError('store', 'either out or store, not both', o.out, 'simulateLog');
  if (o.out && o.out !== ':memory:' && existsSync(o.out) && !o.overwrite) {
    throw new ValidationError('out', 'a file that does not exist yet (or overwrite: true, --overwrite)', o.out, 'simulateLog');
  }
  const makeOptions = { ...o.envOptions, ...(o.maxEpisodeSteps ? { maxEpisodeSteps: o.maxEpisodeSteps } : {}) };
  const makeEnv = () => make(o.env, makeOptions) as Env<unknown, number>;
  const numActions = discreteActionsOf(o.env, makeOptions);
  let loaded: LoadedBehaviour;
  if (isTargetPolicy(o.policy)) loaded = { policy: o.policy, dispose: () => undefined };
  else loaded = await behaviourPolicy(o.policy as BehaviourSpec, o.env, o.envOptions);
  const policy = loaded.policy;
  const slots: Slot[] = [];
  let store: LogStore | null = null;
  let ownsStore = false;
  try {
    if (policy.numActions !== numActions) {
      throw new ValidationError('policy.numActions', `${numActions} (the actions of ${o.env})`, policy.numActions, 'simulateLog');
    }
    const probeEnv = makeEnv();
    const space = probeEnv.observationSpace;
    const d = flatdim(space);
    probeEnv.close?.();
    const components = probeComponents(makeEnv, o.seed);
    const c = components.length;
    const schema = { featureDim: d, numActions, rewardComponents: components };
    if (o.store) {
      store = o.store;
      if ((await store.count()) > 0) throw new ValidationError('store', 'an empty log', `${store.path} with ${await store.count()} decisions`, 'simulateLog');
      await store.setSchema(schema);
    } else {
      const path = o.out as string;
      if (o.overwrite && path !== ':memory:') for (const f of [path, `${path}.wal`]) rmSync(f, { force: true });
      store = await LogStore.create(path, schema);
      ownsStore = true;
    }
    const writer = await store.writer({ batchRows: o.batchRows });
    const width = String(Math.max(0, o.episodes - 1)).length;
    const startMs = o.startTime instanceof Date ? o.startTime.getTime() : o.startTime;
    const master = new Rng(o.seed);
    const parallel = Math.min(o.parallel, o.episodes);
    const k = numActions;
    const obs = new Float32Array(parallel * d);
    const masks = new Uint8Array(parallel * k).fill(1);
    let anyMask = false;
    const probs = new Float64Array(parallel * k);
    const ids: string[] = new Array(parallel);
    const seqs = new Int32Array(parallel);
    // Row r of a policy call is slot active[r].
    const active = new Int32Array(parallel);
    const returns = new Float64Array(o.episodes);
    const discountedReturns = new Float64Array(o.episodes);
    const lengths = new Float64Array(o.episodes);
    const componentSums = new Float64Array(c);
    let next = 0;
    let decisions = 0;
    const started = performance.now();

    const slotMasked = new Uint8Array(parallel);
    const setMask = (j: number, info: Info) => {
      const m = info.actionMask;
      if (m) {
        if (m.length !== k) throw new ValidationError('info.actionMask.length', `${k} (the actions of ${o.env})`, m.length, 'simulateLog');
        anyMask = true;
        masks.set(m, j * k);
      } else masks.fill(1, j * k, (j + 1) * k);
      slotMasked[j] = m ? 1 : 0;
    };
    const begin = (j: number): boolean => {
      if (next >= o.episodes) return false;
      const episode = next++;
      // Drawn in episode order, whatever the slot: the log depends on the seed only.
      const envSeed = master.nextSeed();
      const actSeed = master.nextSeed();
      const slot = slots[j];
      slot.episode = episode;
      slot.mdpId = `${o.idPrefix}${String(episode).padStart(width, '0')}`;
      slot.step = 0;
      slot.ret = 0;
      slot.discounted = 0;
      slot.discount = 1;
      slot.rng.seed(actSeed);
      slot.components.fill(0);
      const { observation, info } = slot.env.reset({ seed: envSeed });
      flattenInto(space, observation, obs, j * d);
      setMask(j, info);
      return true;
    };
    const running = new Uint8Array(parallel);
    for (let j = 0; j < parallel; j++) {
      slots.push({ env: makeEnv(), episode: -1, mdpId: '', step: 0, ret: 0, discounted: 0, discount: 1, rng: new Rng(0), components: new Float64Array(c) });
      running[j] = begin(j) ? 1 : 0;
    }
    const features = new Float32Array(d);
    const rowMask = new Uint8Array(k);
    for (;;) {
      let n = 0;
      for (let j = 0; j < parallel; j++) if (running[j]) active[n++] = j;
      if (n === 0) break;
      // Pack the running slots' rows at the front (one policy call for all of them).
      const batchObs = n === parallel ? obs : new Float32Array(n * d);
      const batchMasks = anyMask ? (n === parallel ? masks : new Uint8Array(n * k)) : null;
      for (let r = 0; r < n; r++) {
        const j = active[r];
        if (batchObs !== obs) batchObs.set(obs.subarray(j * d, (j + 1) * d), r * d);
        if (batchMasks && batchMasks !== masks) batchMasks.set(masks.subarray(j * k, (j + 1) * k), r * k);
        ids[r] = slots[j].mdpId;
        seqs[r] = slots[j].step;
      }
      const out = probs.subarray(0, n * k);
      out.fill(0);
      const batch: PolicyBatch = { n, featureDim: d, numActions: k, mdpIds: ids.slice(0, n), sequenceNumbers: seqs.subarray(0, n), features: batchObs, masks: batchMasks };
      await policy.probabilities(batch, out);
      for (let r = 0; r < n; r++) {
        const j = active[r];
        const slot = slots[j];
        const row = out.subarray(r * k, (r + 1) * k);
        checkRow(row, batchMasks ? batchMasks.subarray(r * k, (r + 1) * k) : null, policy.name, slot);
        const a = sampleRow(row, slot.rng);
        const p = row[a];
        features.set(obs.subarray(j * d, (j + 1) * d));
        rowMask.set(masks.subarray(j * k, (j + 1) * k));
        const result = slot.env.step(a);
        const rv = result.info.rewardVector;
        let comps: Record<string, number> | null = null;
        if (rv && c > 0) {
          comps = {};
          for (const key of Object.keys(rv)) {
            if (!components.includes(key)) {
              throw new ValidationError(`info.rewardVector.${key}`, `one of the components of the first step (${components.join(', ')})`, rv[key], `simulateLog: ${o.env}`);
            }
          }
          for (let i = 0; i < c; i++) {
            const v = rv[components[i]];
            comps[components[i]] = v;
            slot.components[i] += v;
          }
        }
        writer.append({
          mdpId: slot.mdpId,
          sequenceNumber: slot.step,
          timestamp: startMs + slot.episode * 3_600_000 + slot.step * 1000,
          features,
          action: a,
          actionProbability: p,
          possibleActions: slotMasked[j] ? rowMask : null,
          reward: result.reward,
          rewardComponents: comps,
          terminal: result.terminated,
        } satisfies Decision);
        decisions++;
        slot.ret += result.reward;
        slot.discounted += slot.discount * result.reward;
        slot.discount *= o.gamma;
        slot.step++;
        if (result.terminated || result.truncated) {
          returns[slot.episode] = slot.ret;
          discountedReturns[slot.episode] = slot.discounted;
          lengths[slot.episode] = slot.step;
          for (let i = 0; i < c; i++) componentSums[i] += slot.components[i];
          o.onEpisode?.(slot.episode, slot.ret, slot.step);
          running[j] = begin(j) ? 1 : 0;
        } else {
          flattenInto(space, result.observation, obs, j * d);
          setMask(j, result.info);
        }
      }
    }
    await writer.close();
    const [mean, std] = meanStd(returns);
    const [dMean, dStd] = meanStd(discountedReturns);
    const result: SimulationResult = {
      path: store.path,
      env: o.env,
      envOptions: o.envOptions,
      policy: policy.name,
      episodes: o.episodes,
      decisions,
      seed: o.seed,
      gamma: o.gamma,
      featureDim: d,
      numActions: k,
      rewardComponents: components,
      meanReturn: mean,
      stdReturn: std,
      stderrReturn: std / Math.sqrt(o.episodes),
      meanDiscountedReturn: dMean,
      stdDiscountedReturn: dStd,
      stderrDiscountedReturn: dStd / Math.sqrt(o.episodes),
      meanLength: meanStd(lengths)[0],
      meanRewardComponents: Object.fromEntries(components.map((name, i) => [name, componentSums[i] / o.episodes])),
      seconds: (performance.now() - started) / 1000,
    };
    const { seconds: _s, path: _p, ...info } = result;
    await store.engine.execute(
      `INSERT OR REPLACE INTO ${METADATA_TABLE} VALUES (${sqlString(SIMULATION_KEY)}, ${sqlString(JSON.stringify({ ...info, maxEpisodeSteps: o.maxEpisodeSteps ?? null }))})`,
    );
    return result;
  } catch (err) {
    // A failed simulation leaves no half-written log behind.
    if (ownsStore && store) {
      store.close();
      store = null;
      const path = o.out as string;
      if (path !== ':memory:') for (const f of [path, `${path}.wal`]) rmSync(f, { force: true });
    }
    throw err;
  } finally {
    for (const s of slots) s.env.close?.();
    loaded.dispose();
    if (ownsStore && store) store.close();
  }
}

/** Checks one row of behaviour probabilities (the log must hold exact propensities). */
function checkRow(row: Float64Array, mask: Uint8Array | null, name: string, slot: Slot): void {
  let sum = 0;
  for (let a = 0; a < row.length; a++) {
    const p = row[a];
    const where = `behaviour policy ${name} at mdp_id ${JSON.stringify(slot.mdpId)}, step ${slot.step}`;
    if (!(p >= 0 && p <= 1)) throw new ValidationError(`π(${a})`, 'a probability in [0, 1]', p, where);
    if (mask && !mask[a] && p > 0) throw new ValidationError(`π(${a})`, `0 (action ${a} is not possible here)`, p, where);
    sum += p;
  }
  if (Math.abs(sum - 1) > TOLERANCE) {
    throw new ValidationError('π', `probabilities summing to 1 ± ${TOLERANCE} (sum ${sum})`, row, `behaviour policy ${name} at mdp_id ${JSON.stringify(slot.mdpId)}, step ${slot.step}`);
  }
}

/**
 * Inverse-CDF draw from one probability row: the first action whose cumulative probability
 * exceeds u ~ U[0, 1) (scaled by the row's sum, which is 1 up to rounding). Actions with
 * probability 0 are never drawn.
 *
 * @example
 * sampleRow([0.2, 0, 0.8], new Rng(0)); // 0 with probability 0.2, else 2
 */
export function sampleRow(row: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let a = 0; a < row.length; a++) total += row[a];
  const u = rng.random() * total;
  let cum = 0;
  let last = -1;
  for (let a = 0; a < row.length; a++) {
    if (!(row[a] > 0)) continue;
    last = a;
    cum += row[a];
    if (u < cum) return a;
  }
  if (last < 0) throw new KairosError('sampleRow: every action has probability 0', 'invalid_policy');
  return last;
}

function meanStd(xs: Float64Array): [number, number] {
  const n = xs.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i] - m) ** 2;
  return [m, Math.sqrt(v / n)];
}

/** The simulation that wrote a log, as stored in its metadata by {@link simulateLog}. */
export type SimulationInfo = Omit<SimulationResult, 'seconds' | 'path'> & { maxEpisodeSteps: number | null };

/**
 * The simulation record of a log written by {@link simulateLog} (env, options, behaviour
 * policy, seed and its on-policy value), or null for a log from elsewhere (or a source with no
 * metadata table).
 *
 * @example
 * const sim = await readSimulationInfo(store);
 * if (sim) console.log(`logged in ${sim.env} by ${sim.policy}: value ${sim.meanReturn}`);
 */
export async function readSimulationInfo(source: LogSource): Promise<SimulationInfo | null> {
  let rows: Record<string, unknown>[];
  try {
    rows = await source.engine.query(`SELECT value FROM ${METADATA_TABLE} WHERE key = ${sqlString(SIMULATION_KEY)}`);
  } catch {
    // A log served by another engine (Trino, Spark) need not carry Kairos's metadata table.
    return null;
  }
  if (rows.length === 0) return null;
  try {
    return JSON.parse(String(rows[0].value)) as SimulationInfo;
  } catch {
    throw new KairosError(`${source.path}: the simulation record in ${METADATA_TABLE} is not valid JSON`, 'store_invalid');
  }
}
