/**
 * Agent registry: algorithm name → factory, so the CLI, the training loop's resume and
 * `loadPolicy` can rebuild an agent from the name and config saved in a run folder.
 *
 * @example
 * registerAgent({ algorithm: 'dqn', description: 'Deep Q-network', create: (init) => new DqnAgent(init) });
 * const agent = createAgent('dqn', { observationSpace, actionSpace, config: { gamma: 0.99 }, seed: 0 });
 */
import { KairosError, ValidationError } from '../core/errors.js';
import type { Agent, AgentInit } from './agent.js';

/** How to build one kind of agent. */
export interface AgentRegistration {
  readonly algorithm: string;
  /** One line for `kairos train --help`. */
  readonly description: string;
  /** Builds the agent; validates `init.config` and throws a ValidationError naming the field. */
  create(init: AgentInit): Agent;
  /** Env ids with a tuned preset, and the preset configs (see each agent's presets file). */
  readonly presets?: Readonly<Record<string, PresetEntry>>;
}

/** A tuned configuration for one env, with where it comes from. */
export interface PresetEntry {
  /** Agent config. */
  readonly config: Record<string, unknown>;
  /** Env steps the preset is tuned for. */
  readonly totalSteps: number;
  /** Number of parallel envs. */
  readonly numEnvs?: number;
  /** Source of the numbers (paper, repository and file). */
  readonly source: string;
}

const registry = new Map<string, AgentRegistration>();

/** Adds an algorithm; throws if the name is taken. */
export function registerAgent(registration: AgentRegistration): void {
  if (registry.has(registration.algorithm)) {
    throw new KairosError(`registerAgent: algorithm "${registration.algorithm}" is already registered`, 'duplicate_agent');
  }
  registry.set(registration.algorithm, registration);
}

/** The registration of `algorithm`, or a ValidationError listing the known ones. */
export function getAgentRegistration(algorithm: string): AgentRegistration {
  const r = registry.get(algorithm);
  if (!r) throw new ValidationError('algorithm', `one of ${[...registry.keys()].map((k) => `"${k}"`).join(', ')}`, algorithm, 'agents');
  return r;
}

/** Builds an agent by algorithm name. */
export function createAgent(algorithm: string, init: AgentInit): Agent {
  return getAgentRegistration(algorithm).create(init);
}

/** Registered algorithms, sorted. */
export function listAgents(): AgentRegistration[] {
  return [...registry.values()].sort((a, b) => a.algorithm.localeCompare(b.algorithm));
}
