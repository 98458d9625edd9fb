/**
 * Input checks shared by the classic-control envs: reset bounds, `setState` vectors and
 * actions. They live off the hot path: each env checks its action with one or two
 * comparisons inline and only calls in here to build the error.
 *
 * @example
 * const [low, high] = parseResetBounds('CartPole-v1', opts?.options, -0.05, 0.05);
 */
import { KairosError, ValidationError, describeValue } from '../../core/errors.js';
import type { Box, Space } from '../../core/spaces.js';

/**
 * Gymnasium's `utils.maybe_parse_reset_bounds`: `options.low` / `options.high` override
 * the default range of the uniform initial state; other keys are ignored (as Gymnasium
 * does, so one options object can be shared across envs).
 *
 * @example
 * parseResetBounds('Acrobot-v1', { low: -0.2, high: 0.2 }, -0.1, 0.1); // [-0.2, 0.2]
 * @throws ValidationError when a bound is not a finite number or low > high.
 */
export function parseResetBounds(
  envId: string,
  options: Record<string, unknown> | undefined,
  defaultLow: number,
  defaultHigh: number,
): [number, number] {
  if (options === undefined || options === null) return [defaultLow, defaultHigh];
  const low = 'low' in options ? options.low : defaultLow;
  const high = 'high' in options ? options.high : defaultHigh;
  if (typeof low !== 'number' || !Number.isFinite(low)) {
    throw new ValidationError('options.low', 'a finite number', low, `${envId} reset`);
  }
  if (typeof high !== 'number' || !Number.isFinite(high)) {
    throw new ValidationError('options.high', 'a finite number', high, `${envId} reset`);
  }
  if (low > high) {
    throw new ValidationError('options.low', `a number <= options.high (${high})`, low, `${envId} reset`);
  }
  return [low, high];
}

/**
 * Reads a number option of `reset({ options })`, e.g. Pendulum's `x_init`, or returns
 * the default when the key is absent.
 *
 * @example
 * readNumberOption('Pendulum-v1', { x_init: 1 }, 'x_init', Math.PI); // 1
 */
export function readNumberOption(
  envId: string,
  options: Record<string, unknown> | undefined,
  key: string,
  defaultValue: number,
): number {
  if (options === undefined || options === null || !(key in options)) return defaultValue;
  const v = options[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ValidationError(`options.${key}`, 'a finite number', v, `${envId} reset`);
  }
  return v;
}

/**
 * Copies a user-supplied internal state into `target` after checking its length and
 * that every entry is a finite number (a NaN state would silently poison a whole
 * trajectory). `names` labels each entry in the error message.
 *
 * @example
 * copyState('CartPole-v1', [0, 0, 0.1, 0], new Float64Array(4), ['x', 'xDot', 'theta', 'thetaDot']);
 */
export function copyState(envId: string, state: unknown, target: Float64Array, names: readonly string[]): void {
  const n = names.length;
  const expected = `${n} finite numbers [${names.join(', ')}]`;
  const isArrayLike =
    Array.isArray(state) || (ArrayBuffer.isView(state) && !(state instanceof DataView));
  if (!isArrayLike) throw new ValidationError('state', expected, state, `${envId} setState`);
  const arr = state as ArrayLike<unknown>;
  if (arr.length !== n) {
    throw new ValidationError('state', `${expected} (length ${n})`, state, `${envId} setState`);
  }
  for (let i = 0; i < n; i++) {
    const v = arr[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ValidationError(`state[${i}]`, `a finite number (${names[i]})`, v, `${envId} setState`);
    }
  }
  for (let i = 0; i < n; i++) target[i] = arr[i] as number;
}

/**
 * The error for an action outside a discrete action space: names the env, the value
 * received and the space (Gymnasium asserts `action_space.contains(action)`).
 *
 * @example
 * throw invalidActionError('CartPole-v1', 2, env.actionSpace);
 */
export function invalidActionError(envId: string, action: unknown, space: Space<unknown>, reason?: string): KairosError {
  const why = reason ?? space.explain(action) ?? 'not an element of the action space';
  return new KairosError(
    `${envId}: invalid action ${describeAction(action)}: ${why}; the action space is ${String(space)}`,
    'invalid_action',
  );
}

/** Like `describeValue`, but shows NaN and infinities inside plain arrays (JSON turns them into null). */
function describeAction(action: unknown): string {
  if (Array.isArray(action) && action.length <= 8 && action.every((v) => typeof v === 'number')) return `[${action.join(', ')}]`;
  return describeValue(action);
}

/**
 * Reads the single torque/force of a one-dimensional continuous action (a typed array
 * or array of length 1, or a bare number). Out-of-range values are valid: the env clips
 * them, as Gymnasium does. NaN and infinities are rejected because clipping would hide
 * them in the state (NaN) or make the reward infinite.
 *
 * @example
 * readScalarAction('Pendulum-v1', new Float32Array([3]), env.actionSpace); // 3 (clipped later)
 */
export function readScalarAction(envId: string, action: unknown, space: Box): number {
  let v: unknown;
  if (typeof action === 'number') v = action;
  else if (ArrayBuffer.isView(action) || Array.isArray(action)) {
    const arr = action as ArrayLike<unknown>;
    if (arr.length !== 1) throw invalidActionError(envId, action, space, `expected 1 value (shape (1,)), received ${arr.length}`);
    v = arr[0];
  } else {
    throw invalidActionError(envId, action, space, 'expected an array of 1 number');
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    const lo = space.low[0];
    const hi = space.high[0];
    throw invalidActionError(
      envId,
      action,
      space,
      `expected a finite number (values outside [${lo}, ${hi}] are clipped), received ${describeValue(v)}`,
    );
  }
  return v;
}
