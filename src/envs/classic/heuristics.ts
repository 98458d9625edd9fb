/**
 * Simple hand-written controllers for the classic-control envs, for the CLI's
 * `--policy heuristic`, smoke tests and as a floor a learned policy should beat. Each
 * maps an observation to an action of the env's action space; none keeps state.
 *
 * @example
 * const env = make<Float32Array, number>('CartPole-v1');
 * const policy = classicHeuristics['CartPole-v1'];
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(policy(observation) as number);
 */

/** A stateless observation-to-action rule. */
export type HeuristicPolicy = (obs: Float32Array) => number | Float32Array;

/**
 * CartPole: push the cart under the pole, i.e. toward where it is leaning or about to
 * lean: right when theta + 0.5 * thetaDot > 0. The angular-velocity term anticipates the
 * fall by about half a second's worth of the current rotation, which damps the
 * oscillation a pure angle rule sets up.
 */
export function cartPoleHeuristic(obs: Float32Array): number {
  return obs[2] + 0.5 * obs[3] > 0 ? 1 : 0;
}

/**
 * MountainCar: push in the direction of motion (right when at rest), which pumps
 * energy into the oscillation every step until the car clears the right hill.
 */
export function mountainCarHeuristic(obs: Float32Array): number {
  return obs[1] >= 0 ? 2 : 0;
}

/** MountainCarContinuous: full force in the direction of motion. */
export function mountainCarContinuousHeuristic(obs: Float32Array): Float32Array {
  const out = new Float32Array(1);
  out[0] = obs[1] >= 0 ? 1 : -1;
  return out;
}

/**
 * Acrobot: energy pumping with the first joint's angular velocity as the clock. The
 * elbow torque acts on link 1 with the opposite sign (in Gymnasium's convention a
 * positive torque raises thetaDDot2 and, by reaction, lowers thetaDDot1: see
 * `ddtheta1 = -(d2 ddtheta2 + phi1) / d1`), so to push link 1 along its swing the torque
 * is applied against dtheta1: action 0 (torque -1) when dtheta1 > 0, 2 when < 0.
 * Literally pushing "with" dtheta1 damps the swing and never reaches the line.
 */
export function acrobotHeuristic(obs: Float32Array): number {
  const dtheta1 = obs[4];
  return dtheta1 > 0 ? 0 : dtheta1 < 0 ? 2 : 1;
}

/** Pendulum constants used by the heuristic (Gymnasium defaults: g = 10, m = l = 1). */
const PENDULUM_GRAVITY_TERM = (3 * 10) / 2; // 3g / (2l): angular accel per unit sin(theta)
const PENDULUM_TORQUE_GAIN = 3; // 3 / (m l^2): angular accel per unit torque
const PENDULUM_MAX_TORQUE = 2;

/**
 * Pendulum: energy-shaping swing-up far from the top, PD control near it.
 *
 * With theta = 0 upright, the dynamics thetaDDot = a sin(theta) + b u (a = 3g/2l,
 * b = 3/ml^2) conserve E = thetaDot^2 / 2 + a cos(theta) when u = 0, and
 * dE/dt = b u thetaDot. Upright at rest has E* = a; pushing along thetaDot while E < E*
 * (against it when E > E*) drives E to E* (Astrom & Furuta, "Swinging up a pendulum by
 * energy control", Automatica 2000). Within ~0.5 rad of the top a PD law holds it.
 */
export function pendulumHeuristic(obs: Float32Array): Float32Array {
  const c = obs[0];
  const s = obs[1];
  const thetaDot = obs[2];
  const theta = Math.atan2(s, c);
  let u: number;
  if (c > 0.85) {
    u = -(10 * theta + 2 * thetaDot);
  } else {
    const energy = 0.5 * thetaDot * thetaDot + PENDULUM_GRAVITY_TERM * c;
    const deficit = PENDULUM_GRAVITY_TERM - energy;
    // At rest at the bottom thetaDot = 0 gives no push; kick it one way to start.
    const direction = thetaDot >= 0 ? 1 : -1;
    u = (deficit * direction) / PENDULUM_TORQUE_GAIN;
  }
  const out = new Float32Array(1);
  out[0] = u < -PENDULUM_MAX_TORQUE ? -PENDULUM_MAX_TORQUE : u > PENDULUM_MAX_TORQUE ? PENDULUM_MAX_TORQUE : u;
  return out;
}

/** The heuristics keyed by env id, for `--policy heuristic`. */
export const classicHeuristics: Record<string, HeuristicPolicy> = {
  'CartPole-v1': cartPoleHeuristic,
  'MountainCar-v0': mountainCarHeuristic,
  'MountainCarContinuous-v0': mountainCarContinuousHeuristic,
  'Acrobot-v1': acrobotHeuristic,
  'Pendulum-v1': pendulumHeuristic,
};
