/**
 * The hand-written LunarLander controller that ships with the env: Gymnasium 1.x
 * `lunar_lander.py`'s `heuristic(env, s)`, written by Oleg Klimov for the original Gym
 * env. It scores above 200 (the "solved" threshold) on average.
 *
 * It is a pair of PD controllers on the observation: the target angle leans the craft
 * toward the pad (from horizontal position and velocity, capped at 0.4 rad), the target
 * height shrinks with horizontal distance (0.55·|x|, so it descends as it centres), and
 * once a leg touches it only brakes the fall.
 *
 * @example
 * const env = make<Float32Array, number>('LunarLander-v3');
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(lunarLanderHeuristic(observation, false) as number);
 */

/**
 * Gymnasium's `heuristic(env, s)`. Returns an action of Discrete(4) when `continuous` is
 * false, otherwise a fresh `Float32Array` [main, lateral] in [-1, 1].
 *
 * @param obs the 8-value LunarLander observation
 * @param continuous which action space to answer in
 */
export function lunarLanderHeuristic(obs: ArrayLike<number>, continuous: boolean): number | Float32Array {
  // Angle should point towards the centre; more than 0.4 rad (22°) is bad.
  let angleTarg = obs[0] * 0.5 + obs[2] * 1.0;
  if (angleTarg > 0.4) angleTarg = 0.4;
  if (angleTarg < -0.4) angleTarg = -0.4;
  // Target height proportional to the horizontal offset.
  const hoverTarg = 0.55 * Math.abs(obs[0]);

  let angleTodo = (angleTarg - obs[4]) * 0.5 - obs[5] * 1.0;
  let hoverTodo = (hoverTarg - obs[1]) * 0.5 - obs[3] * 0.5;

  if (obs[6] || obs[7]) {
    // Legs have contact: only reduce the fall speed, that's all we need after contact.
    angleTodo = 0;
    hoverTodo = -obs[3] * 0.5;
  }

  if (continuous) {
    const a = new Float32Array(2);
    a[0] = clip(hoverTodo * 20 - 1, -1, 1);
    a[1] = clip(-angleTodo * 20, -1, 1);
    return a;
  }
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * LunarLander heuristics keyed by env id: `LunarLander-v3` (discrete) and
 * `LunarLanderContinuous-v3` (the same env with `continuous: true`).
 *
 * @example
 * const policy = box2dHeuristics['LunarLanderContinuous-v3'];
 * env.step(policy(observation));
 */
export const box2dHeuristics: Record<string, (obs: Float32Array) => number | Float32Array> = {
  'LunarLander-v3': (obs) => lunarLanderHeuristic(obs, false),
  'LunarLanderContinuous-v3': (obs) => lunarLanderHeuristic(obs, true),
};
