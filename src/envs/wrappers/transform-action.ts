/**
 * Applies a function to every action before it reaches the env (Gymnasium 1.x
 * `gymnasium.wrappers.TransformAction`). Pass the space of the actions the caller sends
 * when it differs from the env's.
 *
 * @example
 * // A policy with 3 outputs drives an env with Discrete(2): 2 means "repeat 1".
 * const env = new TransformAction(make('CartPole-v1'), (a: number) => (a === 2 ? 1 : a), new Discrete(3));
 */
import type { Space } from '../../core/spaces.js';
import type { Env, StepResult } from '../env.js';
import { Wrapper } from './wrapper.js';

/**
 * Applies a function to actions (see the module comment).
 *
 * @example
 * new TransformAction(env, (a: number) => a + 1, new Discrete(2));
 */
export class TransformAction<Obs = unknown, Act = unknown, InnerAct = Act> extends Wrapper<Obs, Act, Obs, InnerAct> {
  private readonly space: Space<Act>;

  /**
   * @param fn maps the caller's action to the env's action
   * @param actionSpace the space of the caller's actions (default: the env's space)
   */
  constructor(
    env: Env<Obs, InnerAct>,
    readonly fn: (action: Act) => InnerAct,
    actionSpace?: Space<Act>,
  ) {
    super(env);
    this.space = actionSpace ?? (env.actionSpace as unknown as Space<Act>);
  }

  override get actionSpace(): Space<Act> {
    return this.space;
  }

  override step(action: Act): StepResult<Obs> {
    return this.env.step(this.fn(action));
  }
}
