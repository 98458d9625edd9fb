/**
 * Classic-control envs (CartPole, MountainCar, MountainCarContinuous, Acrobot, Pendulum)
 * with Gymnasium 1.x's dynamics, and their registrations: ids, option schemas (strict:
 * unknown options are rejected, defaults filled), time limits and reward thresholds as
 * in `gymnasium/envs/__init__.py`.
 *
 * @example
 * import 'kairos/envs'; // registers classicControlRegistrations
 * const env = make('Pendulum-v1', { g: 9.81 });
 * const direct = new CartPole({ suttonBartoReward: true }); // no wrappers
 */
import { z } from 'zod';
import type { EnvRegistration } from '../registry.js';
import { Acrobot } from './acrobot.js';
import { CartPole } from './cart-pole.js';
import { MountainCarContinuous } from './continuous-mountain-car.js';
import { MountainCar } from './mountain-car.js';
import { Pendulum } from './pendulum.js';

export { Acrobot, type AcrobotDynamics, type AcrobotOptions } from './acrobot.js';
export { CartPole, type CartPoleOptions, type KinematicsIntegrator } from './cart-pole.js';
export { MountainCarContinuous, type MountainCarContinuousOptions } from './continuous-mountain-car.js';
export { MountainCar, type MountainCarOptions } from './mountain-car.js';
export { Pendulum, normalizeAngle, type PendulumOptions } from './pendulum.js';
export { classicHeuristics, type HeuristicPolicy } from './heuristics.js';

/** Options of `make('CartPole-v1', ...)`. */
export const CartPoleOptionsSchema = z.strictObject({
  /** Gymnasium's `sutton_barto_reward`: 0 per step and -1 on failure instead of +1 per step. */
  suttonBartoReward: z.boolean().default(false),
  /** Gymnasium's `kinematics_integrator`. */
  kinematicsIntegrator: z.enum(['euler', 'semi-implicit-euler']).default('euler'),
});

/** Options of `make('MountainCar-v0', ...)` and `make('MountainCarContinuous-v0', ...)`. */
export const MountainCarOptionsSchema = z.strictObject({
  /** Gymnasium's `goal_velocity`: minimum velocity at the flag that ends the episode. */
  goalVelocity: z.number().default(0),
});

/** Options of `make('Acrobot-v1', ...)`. */
export const AcrobotOptionsSchema = z.strictObject({
  /** Gymnasium's `book_or_nips`: which equations of motion to integrate. */
  bookOrNips: z.enum(['book', 'nips']).default('book'),
});

/** Options of `make('Pendulum-v1', ...)`. */
export const PendulumOptionsSchema = z.strictObject({
  /** Gravitational acceleration (m/s^2). */
  g: z.number().default(10.0),
});

/** Registrations of the classic-control envs; `envs/builtin.ts` registers them. */
export const classicControlRegistrations: EnvRegistration<any>[] = [
  {
    id: 'CartPole-v1',
    entryPoint: (opts: z.output<typeof CartPoleOptionsSchema>) => new CartPole(opts),
    optionsSchema: CartPoleOptionsSchema,
    maxEpisodeSteps: 500,
    rewardThreshold: 475.0,
    description: 'Balance a pole on a cart by pushing it left or right (Barto, Sutton & Anderson 1983).',
  },
  {
    id: 'MountainCar-v0',
    entryPoint: (opts: z.output<typeof MountainCarOptionsSchema>) => new MountainCar(opts),
    optionsSchema: MountainCarOptionsSchema,
    maxEpisodeSteps: 200,
    rewardThreshold: -110.0,
    description: 'Drive an under-powered car up a hill by building momentum; 3 discrete pushes (Moore 1990).',
  },
  {
    id: 'MountainCarContinuous-v0',
    entryPoint: (opts: z.output<typeof MountainCarOptionsSchema>) => new MountainCarContinuous(opts),
    optionsSchema: MountainCarOptionsSchema,
    maxEpisodeSteps: 999,
    rewardThreshold: 90.0,
    description: 'Mountain Car with a continuous force in [-1, 1] and an effort penalty.',
  },
  {
    id: 'Acrobot-v1',
    entryPoint: (opts: z.output<typeof AcrobotOptionsSchema>) => new Acrobot(opts),
    optionsSchema: AcrobotOptionsSchema,
    maxEpisodeSteps: 500,
    rewardThreshold: -100.0,
    description: 'Swing the tip of a two-link arm, actuated at the elbow, above a line (Sutton 1996).',
  },
  {
    id: 'Pendulum-v1',
    entryPoint: (opts: z.output<typeof PendulumOptionsSchema>) => new Pendulum(opts),
    optionsSchema: PendulumOptionsSchema,
    maxEpisodeSteps: 200,
    description: 'Swing a torque-limited pendulum upright and hold it there; continuous torque.',
  },
];
