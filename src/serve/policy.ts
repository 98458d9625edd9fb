/**
 * The policy a decision service serves: a run folder's agent, the exploration it acts with,
 * and the model version every response and log session carries.
 *
 * Modes (the same names as the OPE target policies of `agents/target-policy.ts`):
 * - `epsilon-greedy` (value-based agents; default for them): the greedy action with
 *   probability 1 − ε, else a uniformly random allowed one. P(a) = ε/k + (1 − ε)·[a = greedy]
 *   over the k allowed actions, so every allowed action keeps at least ε/k (bounded
 *   importance weights in off-policy evaluation).
 * - `softmax` (value-based agents): P(a) ∝ exp(Q(a)/T) over the allowed actions.
 * - `exploring` (policy-gradient agents; default for them): the agent's own action
 *   distribution. Not offered for value-based agents: a saved DQN policy does not keep the
 *   step its ε schedule had reached.
 * - `greedy`: the greedy action, probability 1.
 *
 * A request may ask for `deterministic`: the greedy action with probability 1 whatever the
 * mode. Probabilities are computed for a whole batch of requests with one forward pass;
 * an action is then drawn per row from the exact probabilities it is logged with.
 *
 * @example
 * const served = await loadServedModel('runs/cartpole');
 * const policy = new ServingPolicy(served.agent, { mode: 'softmax', temperature: 0.5 });
 * const probs = policy.probabilities(obs, n, masks, deterministic); // [n × K]
 * const action = drawAction(probs, 0, policy.numActions, rng);
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { KairosError, ValidationError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { Discrete } from '../core/spaces.js';
import type { Agent } from '../agents/agent.js';
import { epsilonGreedyProbabilities, greedyAction, softmaxProbabilities } from '../agents/dqn/exploration.js';
import { listCheckpoints, loadRunAgent, loadRunSpec, type RunSpec } from '../train/run.js';

/** How served actions are drawn; see the module comment. */
export const SERVE_POLICY_MODES = ['epsilon-greedy', 'softmax', 'exploring', 'greedy'] as const;
/** One of {@link SERVE_POLICY_MODES}. */
export type ServePolicyMode = (typeof SERVE_POLICY_MODES)[number];

/** Default ε of `epsilon-greedy` serving. */
export const DEFAULT_SERVE_EPSILON = 0.05;
/** Default temperature of `softmax` serving. */
export const DEFAULT_SERVE_TEMPERATURE = 1;

/** Options of {@link ServingPolicy}. */
export interface ServingPolicyOptions {
  /** Default: `epsilon-greedy` for agents with Q-values, else `exploring`. */
  mode?: ServePolicyMode;
  /** Softmax temperature > 0 (default 1). */
  temperature?: number;
  /** ε in [0, 1] (default 0.05). */
  epsilon?: number;
}

/**
 * A discrete-action agent plus an exploration mode: action probabilities for a batch of
 * states, honouring masks, with per-row greedy overrides. Holds no tensors of its own.
 *
 * @example
 * const policy = new ServingPolicy(agent, { mode: 'epsilon-greedy', epsilon: 0.1 });
 * const p = policy.probabilities(new Float32Array(4), 1, null, new Uint8Array(1)); // [1 × K]
 */
export class ServingPolicy {
  readonly mode: ServePolicyMode;
  readonly temperature: number;
  readonly epsilon: number;
  readonly obsDim: number;
  readonly numActions: number;

  constructor(
    readonly agent: Agent,
    options: ServingPolicyOptions = {},
  ) {
    if (!(agent.actionSpace instanceof Discrete)) {
      throw new KairosError(
        `${agent.algorithm} acts in ${agent.actionSpace.toString()}; the decision service logs integer actions and needs a Discrete action space`,
        'unsupported_space',
      );
    }
    if (!agent.qValues && !agent.actionProbabilities) {
      throw new KairosError(
        `${agent.algorithm} exposes neither Q-values nor action probabilities, so served actions could not be logged with their propensities (recurrent agents need per-episode state, which the service does not keep)`,
        'unsupported_agent',
      );
    }
    this.numActions = agent.actionSpace.n;
    this.obsDim = agent.obsDim;
    this.mode = options.mode ?? (agent.qValues ? 'epsilon-greedy' : 'exploring');
    if (!SERVE_POLICY_MODES.includes(this.mode)) {
      throw new ValidationError('mode', `one of ${SERVE_POLICY_MODES.join(', ')}`, this.mode, 'serve');
    }
    this.temperature = options.temperature ?? DEFAULT_SERVE_TEMPERATURE;
    this.epsilon = options.epsilon ?? DEFAULT_SERVE_EPSILON;
    if (!(Number.isFinite(this.temperature) && this.temperature > 0)) {
      throw new ValidationError('temperature', 'a positive number', options.temperature, 'serve');
    }
    if (!(this.epsilon >= 0 && this.epsilon <= 1)) throw new ValidationError('epsilon', 'a number in [0, 1]', options.epsilon, 'serve');
    if ((this.mode === 'softmax' || this.mode === 'epsilon-greedy') && !agent.qValues) {
      throw new KairosError(`policy mode "${this.mode}" needs Q-values, which ${agent.algorithm} does not have; use "exploring" (its own action distribution) or "greedy"`, 'unsupported_agent');
    }
    if (this.mode === 'exploring' && (agent.qValues || !agent.actionProbabilities)) {
      throw new KairosError(
        `policy mode "exploring" serves a policy-gradient agent's own distribution; ${agent.algorithm} is value-based (its saved policy does not keep the ε its schedule reached): use "epsilon-greedy" or "softmax"`,
        'unsupported_agent',
      );
    }
  }

  /** A one-line description, e.g. `epsilon-greedy (ε = 0.05)`. */
  describe(): string {
    if (this.mode === 'epsilon-greedy') return `epsilon-greedy (ε = ${this.epsilon})`;
    if (this.mode === 'softmax') return `softmax (T = ${this.temperature})`;
    return this.mode;
  }

  /**
   * Probabilities of every action `[n × K]` for `n` states `[n × obsDim]`: zero on masked
   * actions, one-hot on the greedy action for rows with `deterministic[i] = 1` (and in
   * `greedy` mode), else the mode's distribution. One forward pass.
   *
   * When `invalid` is given, rows the model cannot evaluate (a non-finite Q-value or
   * probability, e.g. from a state of 1e38) are flagged with 1 there and hold all zeros, so
   * one bad state cannot fail the other rows of a batch.
   */
  probabilities(obs: Float32Array, n: number, masks: Uint8Array | null, deterministic: Uint8Array, invalid?: Uint8Array): Float64Array {
    const K = this.numActions;
    const agent = this.agent;
    if (agent.qValues && this.mode !== 'exploring') {
      const q = agent.qValues(obs, n);
      if (invalid) {
        for (let i = 0; i < n; i++) {
          for (let a = 0; a < K; a++) {
            if (!Number.isFinite(q[i * K + a])) {
              invalid[i] = 1;
              q.fill(0, i * K, (i + 1) * K); // keeps the batch helpers finite; the row is refused
              break;
            }
          }
        }
      }
      const out =
        this.mode === 'softmax'
          ? softmaxProbabilities(q, n, K, masks, this.temperature)
          : epsilonGreedyProbabilities(q, n, K, masks, this.mode === 'greedy' ? 0 : this.epsilon);
      if (this.mode !== 'greedy') {
        for (let i = 0; i < n; i++) {
          if (!deterministic[i]) continue;
          out.fill(0, i * K, (i + 1) * K);
          out[i * K + greedyAction(q, masks, i, K)] = 1;
        }
      }
      if (invalid) for (let i = 0; i < n; i++) if (invalid[i]) out.fill(0, i * K, (i + 1) * K);
      return out;
    }
    const probabilities = agent.actionProbabilities as NonNullable<Agent['actionProbabilities']>;
    let anyGreedy = this.mode === 'greedy';
    let anyStochastic = false;
    for (let i = 0; i < n && !(anyGreedy && anyStochastic); i++) {
      if (deterministic[i]) anyGreedy = true;
      else anyStochastic = true;
    }
    if (this.mode === 'greedy') anyStochastic = false;
    const greedy = anyGreedy ? probabilities.call(agent, obs, n, { deterministic: true, masks }) : null;
    const stochastic = anyStochastic ? probabilities.call(agent, obs, n, { deterministic: false, masks }) : null;
    let out: Float64Array;
    if (!stochastic) out = greedy as Float64Array;
    else {
      out = stochastic;
      if (greedy) for (let i = 0; i < n; i++) if (deterministic[i]) out.set(greedy.subarray(i * K, (i + 1) * K), i * K);
    }
    if (invalid) {
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let a = 0; a < K; a++) sum += out[i * K + a];
        // NaN fails the comparison too.
        if (!(Math.abs(sum - 1) < 1e-6)) {
          invalid[i] = 1;
          out.fill(0, i * K, (i + 1) * K);
        }
      }
    }
    return out;
  }
}

/**
 * Draws an action from row `probs[offset .. offset + K)` by inversion with one uniform draw.
 * An action with probability 0 (masked) is never drawn; a one-hot row returns its action
 * without drawing, so greedy decisions leave the random stream untouched.
 *
 * @example
 * drawAction(Float64Array.of(0.2, 0.8), 0, 2, new Rng(0)); // 0 or 1
 */
export function drawAction(probs: Float64Array, offset: number, K: number, rng: Rng): number {
  for (let a = 0; a < K; a++) if (probs[offset + a] === 1) return a;
  return rng.categorical(probs.subarray(offset, offset + K));
}

/** A run folder's agent, as the service serves it. */
export interface ServedModel {
  agent: Agent;
  spec: RunSpec;
  /** `<first 12 hex digits of the SHA-256 of the model file>@<env steps>`, e.g. `3f2a9c1b7d4e@50000`. */
  modelVersion: string;
  /** The file the weights came from (`model/policy.kst`, or the newest checkpoint of an unfinished run). */
  file: string;
  /** Env steps the model was trained for. */
  step: number;
}

/**
 * Loads the agent of a run folder (the final policy, else the newest checkpoint, as
 * `loadRunAgent` does) and its model version: a hash of the model file plus the run's step,
 * so two services answer with the same version exactly when they serve the same weights.
 *
 * @example
 * const { agent, modelVersion } = await loadServedModel('runs/cartpole'); // '3f2a9c1b7d4e@50000'
 */
export async function loadServedModel(runDir: string): Promise<ServedModel> {
  const spec = await loadRunSpec(runDir);
  const policyFile = path.join(runDir, 'model', 'policy.kst');
  let file = policyFile;
  let step: number;
  const hasPolicy = await fs.access(policyFile).then(
    () => true,
    () => false,
  );
  if (hasPolicy) {
    const summary = await fs
      .readFile(path.join(runDir, 'summary.json'), 'utf8')
      .then((t) => JSON.parse(t) as { steps?: unknown })
      .catch(() => null);
    step = typeof summary?.steps === 'number' ? summary.steps : spec.totalSteps;
  } else {
    const last = (await listCheckpoints(runDir)).at(-1);
    if (!last) throw new KairosError(`${runDir} has neither a final policy (model/policy.kst) nor a checkpoint to serve`, 'not_found');
    file = last.file;
    step = last.step;
  }
  const agent = await loadRunAgent(runDir);
  try {
    const hash = createHash('sha256').update(await fs.readFile(file)).digest('hex').slice(0, 12);
    return { agent, spec, modelVersion: `${hash}@${step}`, file, step };
  } catch (err) {
    agent.dispose();
    throw err;
  }
}
