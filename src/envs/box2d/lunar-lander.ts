/**
 * LunarLander-v3: land a two-legged craft on a pad between two flags, with a main
 * engine and two side (orientation) engines.
 *
 * Created by Oleg Klimov for OpenAI Gym (`gym/envs/box2d/lunar_lander.py`, 2016); the
 * constants, terrain, bodies, joints, engine impulses, observation scaling, reward and
 * termination here follow Gymnasium 1.x `gymnasium/envs/box2d/lunar_lander.py`
 * (LunarLander-v3), on planck (a TypeScript port of Box2D 2.3) instead of pybox2d.
 *
 * Observation (float32, 8): x and y of the lander relative to the pad centre
 * (scaled so the viewport edges are at x = ±1), vx, vy (scaled), angle (rad), angular
 * velocity (scaled: 1 unit = 2.5 rad/s), and 1/0 ground contact of each leg.
 * Actions: `Discrete(4)` (0 noop, 1 left engine, 2 main engine, 3 right engine) or,
 * with `continuous`, `Box(-1, 1, (2,))` = [main throttle, lateral throttle].
 * Reward: the change of a shaping potential (distance, speed, tilt, leg contacts) minus
 * fuel; -100 for a crash or leaving the screen, +100 once the lander comes to rest.
 *
 * Differences from Gymnasium that remain (see docs/lunar-lander.md):
 * - The random streams differ (Kairos' xoshiro128** vs numpy's PCG64), so a seed gives
 *   a different terrain and initial push than the same seed in Gymnasium; the draws are
 *   made in the same order and from the same distributions.
 * - planck computes in float64 where pybox2d uses float32, so trajectories agree with
 *   Box2D's only up to rounding (which chaotic contacts amplify), not bit for bit.
 * - Exhaust particles are not simulated: in Gymnasium they are created only when
 *   rendering and never touch the lander, so they have no effect on the dynamics.
 * - No `StatefulEnv`: an exact snapshot of a Box2D world would need the contact
 *   manifolds, warm-starting impulses and sleep timers, which planck does not expose.
 *   {@link LunarLander.inspect} reads (but cannot set) the physical state.
 *
 * Where planck could differ from pybox2d (Box2D 2.3), and what this file does about it:
 * - Revolute joints: planck defaults `referenceAngle` to the bodies' angle difference,
 *   Box2D's joint def to 0; the limits are measured from it, so it is passed as 0.
 * - Forces and impulses: planck's `wake` argument defaults to true, pybox2d's calls
 *   pass True; passed explicitly. Forces are cleared after each `world.step` in both.
 * - Sleeping (the +100 landing): planck's `isAwake()`, `timeToSleep` 0.5 s and sleep
 *   tolerances (0.01 m/s, 2°/s) are Box2D 2.3's, so the lander falls asleep at the
 *   same moment; bodies are created awake with sleeping allowed, as in Box2D.
 * - Contacts: planck fires `begin-contact` / `end-contact` when a contact's touching
 *   state changes inside `world.step`, as b2ContactListener; collision filtering reads
 *   `filterCategoryBits` / `filterMaskBits` (Box2D's categoryBits / maskBits) with
 *   Box2D's rule; friction mixes by sqrt(f1·f2), restitution by max; polygons and
 *   edges carry Box2D's skin radius (2·linearSlop = 0.01 m).
 * - Vectors: planck reads `{x, y}` arguments without keeping them, so the engine
 *   impulses reuse three scratch objects; `getPosition()` / `getLinearVelocity()`
 *   return live internal vectors and are read at once.
 *
 * @example
 * const env = new LunarLander({ continuous: true });
 * let { observation } = env.reset({ seed: 0 });
 * const r = env.step(new Float32Array([0.5, 0]));
 */
import { Box as BoxShape, Edge, Polygon, World } from 'planck';
import type { Body, Contact, Joint, RevoluteJointDef } from 'planck';
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete, type Space } from '../../core/spaces.js';
import { EMPTY_INFO, seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import { invalidActionError } from '../classic/validation.js';
import { FastRevoluteJoint } from './revolute-joint.js';

// ---------------------------------------------------------------------------------
// Constants: Gymnasium 1.x lunar_lander.py (Klimov's originals; MAIN_ENGINE_Y_LOCATION
// named in v3). Lengths in pixels are divided by SCALE to get Box2D metres.
// ---------------------------------------------------------------------------------

/** Simulation steps per second; one env step is one Box2D step of 1/FPS s. */
const FPS = 50;
/** Pixels per Box2D metre ("affects how fast-paced the game is"). */
const SCALE = 30.0;
/** Impulse scales of the engines (per unit lever offset and throttle). */
const MAIN_ENGINE_POWER = 13.0;
const SIDE_ENGINE_POWER = 0.6;
/** Bound of each component of the random force applied to the lander at reset. */
const INITIAL_RANDOM = 1000.0;
/** Lander hull in pixels, centred on the body origin. */
const LANDER_POLY: ReadonlyArray<readonly [number, number]> = [
  [-14, 17],
  [-17, 0],
  [-17, -10],
  [17, -10],
  [17, 0],
  [14, 17],
];
/** Leg layout (pixels): horizontal and vertical joint offsets, half width and height. */
const LEG_AWAY = 20;
const LEG_DOWN = 18;
const LEG_W = 2;
const LEG_H = 8;
/** Maximum torque of the leg motors, which act as springs pushing the legs outwards. */
const LEG_SPRING_TORQUE = 40;
/** Side-engine nozzle offsets (pixels) above and beside the origin. */
const SIDE_ENGINE_HEIGHT = 14;
const SIDE_ENGINE_AWAY = 12;
/** How far below the body origin the main engine's impulse acts (pixels; v3's name for v2's literal 4). */
const MAIN_ENGINE_Y_LOCATION = 4;
/** Viewport in pixels; the observation scales positions and velocities by it. */
const VIEWPORT_W = 600;
const VIEWPORT_H = 400;
/** Terrain vertices across the viewport. */
const CHUNKS = 11;

/** Box2D velocity and position iterations per step, 6·30 and 2·30 as Gymnasium passes. */
const VELOCITY_ITERATIONS = 6 * 30;
const POSITION_ITERATIONS = 2 * 30;
const DT = 1.0 / FPS;

/** Viewport size in metres. */
const W = VIEWPORT_W / SCALE;
const H = VIEWPORT_H / SCALE;

// Collision filtering as in Gymnasium: the ground keeps Box2D's default category 0x0001;
// the lander and legs collide only with it (never with each other or with particles).
const GROUND_CATEGORY = 0x0001;
const LANDER_CATEGORY = 0x0010;
const LEG_CATEGORY = 0x0020;

const ENV_ID = 'LunarLander-v3';

/**
 * Options of {@link LunarLander} (Gymnasium's keyword arguments in camelCase). The same
 * schema validates `make('LunarLander-v3', opts)`; unknown keys are rejected.
 */
export const LunarLanderOptionsSchema = z.strictObject({
  /** Box(-1, 1, (2,)) throttles instead of Discrete(4). */
  continuous: z.boolean().default(false),
  /** Gravity along y (m/s²); Gymnasium asserts -12 < gravity < 0. */
  gravity: z.number().gt(-12).lt(0).default(-10.0),
  /** Apply a horizontal wind force and a turbulence torque while no leg touches the ground. */
  enableWind: z.boolean().default(false),
  /** Peak wind force; Gymnasium recommends (and warns outside) 0..20, Kairos enforces it. */
  windPower: z.number().min(0).max(20).default(15.0),
  /** Peak turbulence torque; Gymnasium recommends (and warns outside) 0..2, Kairos enforces it. */
  turbulencePower: z.number().min(0).max(2).default(1.5),
});

/** Options of {@link LunarLander} (all optional; see {@link LunarLanderOptionsSchema}). */
export type LunarLanderOptions = z.input<typeof LunarLanderOptionsSchema>;

/** A discrete action (0..3) or a continuous [main, lateral] throttle pair. */
export type LunarLanderAction = number | Float32Array | Float64Array | readonly number[];

/** What {@link LunarLander.inspect} returns: the unrounded physical state, for tests and debugging. */
export interface LunarLanderInspection {
  /** The observation before float32 rounding (the values the reward is computed from). */
  readonly state: Float64Array;
  /** Lander body origin and velocity in Box2D metres (and radians). */
  readonly position: { readonly x: number; readonly y: number };
  readonly velocity: { readonly x: number; readonly y: number };
  readonly angle: number;
  readonly angularVelocity: number;
  /** The shaping potential of the last step (NaN before the first step). */
  readonly shaping: number;
  /** True once the lander hull touched the ground (the episode then ends with -100). */
  readonly gameOver: boolean;
  /** False once Box2D put the lander to sleep (the episode then ends with +100). */
  readonly awake: boolean;
  readonly legContact: readonly [boolean, boolean];
  /** Pad edges and height in metres. */
  readonly helipad: { readonly x1: number; readonly x2: number; readonly y: number };
  /** Terrain vertices (x, smoothed y) in metres, CHUNKS of each. */
  readonly terrainX: Float64Array;
  readonly terrainY: Float64Array;
  /** Wind and turbulence phase counters (only advance with `enableWind`). */
  readonly windIdx: number;
  readonly torqueIdx: number;
}

/** Gymnasium's LunarLander-v3 (discrete or continuous) on planck. */
export class LunarLander implements Env<Float32Array, LunarLanderAction> {
  /** Gymnasium v3's bounds: ±2.5 positions, ±10 velocities, ±2π angle, [0, 1] contacts. */
  readonly observationSpace = new Box(
    [-2.5, -2.5, -10.0, -10.0, -2 * Math.PI, -10.0, -0.0, -0.0],
    [2.5, 2.5, 10.0, 10.0, 2 * Math.PI, 10.0, 1.0, 1.0],
  );
  readonly actionSpace: Space<LunarLanderAction>;
  spec?: EnvSpec = undefined;

  readonly continuous: boolean;
  readonly gravity: number;
  readonly enableWind: boolean;
  readonly windPower: number;
  readonly turbulencePower: number;

  private rng: Rng | undefined = undefined;
  private world: World | null = null;
  // Bodies of the current episode; assigned in reset (null until then).
  private lander: Body | null = null;
  private leg0: Body | null = null;
  private leg1: Body | null = null;
  private legContact0 = false;
  private legContact1 = false;
  private gameOver = false;
  /** Gymnasium's `prev_shaping`; NaN stands for None (before the first step). */
  private prevShaping = NaN;
  private helipadX1 = 0;
  private helipadX2 = 0;
  private helipadY = 0;
  private readonly terrainX = new Float64Array(CHUNKS);
  private readonly terrainY = new Float64Array(CHUNKS);
  private windIdx = 0;
  private torqueIdx = 0;
  /** The unrounded observation of the last step (reused; copied out by `inspect`). */
  private readonly state = new Float64Array(8);
  /** Shaping difference of the last `advance` (before fuel and terminal rewards). */
  private lastReward = 0;

  // Scratch vectors handed to planck, reused every step: planck reads their x/y and
  // keeps no reference, so one allocation per env suffices.
  private readonly impulse = { x: 0, y: 0 };
  private readonly point = { x: 0, y: 0 };
  private readonly force = { x: 0, y: 0 };

  // Gymnasium's ContactDetector. Bound once; registered on each new world in reset.
  private readonly onBeginContact = (contact: Contact): void => {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    if (a === this.lander || b === this.lander) this.gameOver = true;
    if (a === this.leg0 || b === this.leg0) this.legContact0 = true;
    if (a === this.leg1 || b === this.leg1) this.legContact1 = true;
  };
  private readonly onEndContact = (contact: Contact): void => {
    const a = contact.getFixtureA().getBody();
    const b = contact.getFixtureB().getBody();
    if (a === this.leg0 || b === this.leg0) this.legContact0 = false;
    if (a === this.leg1 || b === this.leg1) this.legContact1 = false;
  };

  /** @throws ValidationError naming the option when an option is unknown or out of range. */
  constructor(opts: LunarLanderOptions = {}) {
    const o = parseWith(LunarLanderOptionsSchema, opts, ENV_ID);
    this.continuous = o.continuous;
    this.gravity = o.gravity;
    this.enableWind = o.enableWind;
    this.windPower = o.windPower;
    this.turbulencePower = o.turbulencePower;
    this.actionSpace = (this.continuous ? new Box(-1, 1, [2]) : new Discrete(4)) as Space<LunarLanderAction>;
  }

  /**
   * Builds a fresh world (Gymnasium v3 does too, to avoid state leaking between
   * episodes, its issue #728): random terrain, the lander with a random push, the legs;
   * then takes one no-op step, whose observation is returned.
   */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    const rng = (this.rng = seedEnvRng(this.rng, opts?.seed));
    const world = new World({ gravity: { x: 0, y: this.gravity } });
    world.on('begin-contact', this.onBeginContact);
    world.on('end-contact', this.onEndContact);
    this.world = world;
    this.gameOver = false;
    this.prevShaping = NaN;
    this.legContact0 = false;
    this.legContact1 = false;

    // Terrain: CHUNKS + 1 random heights, the five around the centre flattened to the
    // pad, then a 3-point moving average (Gymnasium's `0.33 * (...)`, not 1/3).
    const height = new Float64Array(CHUNKS + 1);
    for (let i = 0; i <= CHUNKS; i++) height[i] = rng.uniform(0, H / 2);
    const mid = CHUNKS >> 1;
    for (let i = 0; i < CHUNKS; i++) this.terrainX[i] = (W / (CHUNKS - 1)) * i;
    this.helipadX1 = this.terrainX[mid - 1];
    this.helipadX2 = this.terrainX[mid + 1];
    this.helipadY = H / 4;
    for (let k = -2; k <= 2; k++) height[mid + k] = this.helipadY;
    for (let i = 0; i < CHUNKS; i++) {
      // Python's height[i - 1] at i = 0 reads height[-1], the last (12th) entry.
      const prev = height[i === 0 ? CHUNKS : i - 1];
      this.terrainY[i] = 0.33 * (prev + height[i] + height[i + 1]);
    }

    // The moon: a static body with a bottom edge (pybox2d's default fixture def:
    // friction 0.2) and the terrain edges (friction 0.1).
    const moon = world.createBody();
    moon.createFixture(new Edge({ x: 0, y: 0 }, { x: W, y: 0 }), { density: 0, friction: 0.2 });
    for (let i = 0; i < CHUNKS - 1; i++) {
      moon.createFixture(
        new Edge({ x: this.terrainX[i], y: this.terrainY[i] }, { x: this.terrainX[i + 1], y: this.terrainY[i + 1] }),
        { density: 0, friction: 0.1 },
      );
    }

    const initialX = W / 2;
    const initialY = H;
    const lander = world.createBody({ type: 'dynamic', position: { x: initialX, y: initialY }, angle: 0 });
    lander.createFixture(new Polygon(LANDER_POLY.map(([x, y]) => ({ x: x / SCALE, y: y / SCALE }))), {
      density: 5.0,
      friction: 0.1,
      filterCategoryBits: LANDER_CATEGORY,
      filterMaskBits: GROUND_CATEGORY,
      restitution: 0.0,
    });
    this.lander = lander;
    // A force (not an impulse): it acts during the first world step only, since Box2D
    // clears forces after each step.
    this.force.x = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    this.force.y = rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    lander.applyForceToCenter(this.force, true);

    if (this.enableWind) {
      // v3 redraws the wind phase each reset (Gymnasium issue #954); numpy's
      // integers(-9999, 9999) excludes the upper bound, as Rng.integers does.
      this.windIdx = rng.integers(-9999, 9999);
      this.torqueIdx = rng.integers(-9999, 9999);
    }

    for (const i of [-1, 1]) {
      const leg = world.createBody({
        type: 'dynamic',
        position: { x: initialX - (i * LEG_AWAY) / SCALE, y: initialY },
        angle: i * 0.05,
      });
      // Fixture friction left at Box2D's default 0.2, as Gymnasium does.
      leg.createFixture(new BoxShape(LEG_W / SCALE, LEG_H / SCALE), {
        density: 1.0,
        restitution: 0.0,
        filterCategoryBits: LEG_CATEGORY,
        filterMaskBits: GROUND_CATEGORY,
      });
      // referenceAngle must be given: planck defaults it to bodyB.angle - bodyA.angle
      // (±0.05 here) while Box2D's b2RevoluteJointDef defaults it to 0, and the joint
      // limits are measured from it. The anchors are deliberately not coincident at
      // creation (Gymnasium's layout): the joint pulls the legs into place in the first
      // steps.
      const joint = this.createLegJoint({
        bodyA: lander,
        bodyB: leg,
        localAnchorA: { x: 0, y: 0 },
        localAnchorB: { x: (i * LEG_AWAY) / SCALE, y: LEG_DOWN / SCALE },
        referenceAngle: 0,
        enableMotor: true,
        enableLimit: true,
        maxMotorTorque: LEG_SPRING_TORQUE,
        // "low enough not to jump back into the sky"
        motorSpeed: 0.3 * i,
        // Klimov's "most esoteric numbers": each leg may swing 0.5 rad outwards of 0.9 rad.
        lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
        upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
      });
      world.createJoint(joint);
      if (i === -1) this.leg0 = leg;
      else this.leg1 = leg;
    }

    // Gymnasium returns the observation of a no-op step (which draws the engine
    // dispersion and, with wind, advances the wind phase).
    const observation = this.advance(0, 0, 0);
    return { observation, info: EMPTY_INFO };
  }

  /**
   * Fires the engines for one frame and advances the world by 1/FPS s.
   *
   * @param action 0..3, or [main, lateral] with `continuous` (clipped to [-1, 1]).
   * @throws KairosError (code `invalid_action`) naming the value and the action space.
   */
  step(action: LunarLanderAction): StepResult<Float32Array> {
    if (this.world === null) throw new KairosError(`${ENV_ID}: step() called before reset(); call reset() first`, 'reset_needed');
    let mPower = 0.0;
    let sPower = 0.0;
    let direction = 0;
    if (this.continuous) {
      if (typeof action === 'number' || action === null || typeof action !== 'object' || (action as ArrayLike<number>).length !== 2) {
        throw invalidActionError(ENV_ID, action, this.actionSpace, 'expected 2 numbers [main, lateral]');
      }
      const arr = action as ArrayLike<number>;
      const main = arr[0];
      const lateral = arr[1];
      if (!Number.isFinite(main) || !Number.isFinite(lateral)) {
        throw invalidActionError(
          ENV_ID,
          action,
          this.actionSpace,
          'expected 2 finite numbers (values outside [-1, 1] are clipped)',
        );
      }
      // Gymnasium: clip to [-1, 1]; main fires at 50..100% for main > 0; a side engine
      // at 50..100% for |lateral| > 0.5, on the side given by its sign.
      if (main > 0.0) mPower = (Math.min(main, 1.0) + 1.0) * 0.5;
      if (Math.abs(lateral) > 0.5) {
        direction = lateral > 0 ? 1 : -1;
        sPower = Math.min(Math.abs(lateral), 1.0);
      }
    } else {
      if (action !== 0 && action !== 1 && action !== 2 && action !== 3) {
        throw invalidActionError(ENV_ID, action, this.actionSpace);
      }
      if (action === 2) mPower = 1.0;
      else if (action === 1 || action === 3) {
        // action 1 fires the left engine (pushes right), 3 the right one.
        direction = action - 2;
        sPower = 1.0;
      }
    }
    const observation = this.advance(mPower, sPower, direction);
    return this.finish(observation, mPower, sPower);
  }

  /**
   * A copy of the physical state (unrounded observation, positions, flags, terrain).
   * Allocates: for tests and debugging, not for the step loop.
   *
   * @example
   * env.reset({ seed: 1 });
   * env.inspect().helipad.y; // 10/3
   */
  inspect(): LunarLanderInspection {
    const lander = this.requireLander();
    const p = lander.getPosition();
    const v = lander.getLinearVelocity();
    return {
      state: Float64Array.from(this.state),
      position: { x: p.x, y: p.y },
      velocity: { x: v.x, y: v.y },
      angle: lander.getAngle(),
      angularVelocity: lander.getAngularVelocity(),
      shaping: this.prevShaping,
      gameOver: this.gameOver,
      awake: lander.isAwake(),
      legContact: [this.legContact0, this.legContact1],
      helipad: { x1: this.helipadX1, x2: this.helipadX2, y: this.helipadY },
      terrainX: Float64Array.from(this.terrainX),
      terrainY: Float64Array.from(this.terrainY),
      windIdx: this.windIdx,
      torqueIdx: this.torqueIdx,
    };
  }

  /** Drops the Box2D world. Safe to call twice; `reset` builds a new one. */
  close(): void {
    this.world = null;
    this.lander = this.leg0 = this.leg1 = null;
  }

  toString(): string {
    return `LunarLander<${this.spec?.id ?? ENV_ID}${this.continuous ? ', continuous' : ''}>`;
  }

  /**
   * Builds a leg joint. {@link FastRevoluteJoint} gives the same numbers as planck's
   * `RevoluteJoint` without its per-iteration allocations; a test overrides this to
   * compare the two.
   */
  protected createLegJoint(def: RevoluteJointDef): Joint {
    return new FastRevoluteJoint(def);
  }

  private requireLander(): Body {
    if (this.lander === null) throw new KairosError(`${ENV_ID}: inspect() called before reset(); call reset() first`, 'reset_needed');
    return this.lander;
  }

  /**
   * Wind, engine impulses and one world step (Gymnasium's `step` up to the state);
   * writes the unrounded state and returns it as a fresh float32 observation.
   */
  private advance(mPower: number, sPower: number, direction: number): Float32Array {
    const world = this.world!;
    const lander = this.lander!;
    const rng = this.rng!;

    if (this.enableWind && !(this.legContact0 || this.legContact1)) {
      // tanh(sin(2k t) + sin(πk t)) with k = 0.01: never periodic (Gymnasium's comment).
      const windMag = Math.tanh(Math.sin(0.02 * this.windIdx) + Math.sin(Math.PI * 0.01 * this.windIdx)) * this.windPower;
      this.windIdx += 1;
      this.force.x = windMag;
      this.force.y = 0.0;
      lander.applyForceToCenter(this.force, true);
      const torqueMag =
        Math.tanh(Math.sin(0.02 * this.torqueIdx) + Math.sin(Math.PI * 0.01 * this.torqueIdx)) * this.turbulencePower;
      this.torqueIdx += 1;
      lander.applyTorque(torqueMag, true);
    }

    const angle = lander.getAngle();
    const tip0 = Math.sin(angle);
    const tip1 = Math.cos(angle);
    const side0 = -tip1;
    const side1 = tip0;
    // Two dispersion draws every step, engines or not, as Gymnasium does.
    const d0 = rng.uniform(-1.0, 1.0) / SCALE;
    const d1 = rng.uniform(-1.0, 1.0) / SCALE;
    const pos = lander.getPosition();

    if (mPower > 0.0) {
      // The impulse acts MAIN_ENGINE_Y_LOCATION px below the origin along the hull's
      // axis, jittered by the dispersion; the lander gets the exhaust's reaction.
      const ox = tip0 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) + side0 * d1;
      const oy = -tip1 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) - side1 * d1;
      this.point.x = pos.x + ox;
      this.point.y = pos.y + oy;
      this.impulse.x = -ox * MAIN_ENGINE_POWER * mPower;
      this.impulse.y = -oy * MAIN_ENGINE_POWER * mPower;
      lander.applyLinearImpulse(this.impulse, this.point, true);
    }

    if (sPower > 0.0) {
      const ox = tip0 * d0 + side0 * (3 * d1 + (direction * SIDE_ENGINE_AWAY) / SCALE);
      const oy = -tip1 * d0 - side1 * (3 * d1 + (direction * SIDE_ENGINE_AWAY) / SCALE);
      // Gymnasium's 17 (not SIDE_ENGINE_HEIGHT) in x: a known quirk that makes the
      // side-engine torque depend on the lander's orientation; kept for parity.
      this.point.x = pos.x + ox - (tip0 * 17) / SCALE;
      this.point.y = pos.y + oy + (tip1 * SIDE_ENGINE_HEIGHT) / SCALE;
      this.impulse.x = -ox * SIDE_ENGINE_POWER * sPower;
      this.impulse.y = -oy * SIDE_ENGINE_POWER * sPower;
      lander.applyLinearImpulse(this.impulse, this.point, true);
    }

    world.step(DT, VELOCITY_ITERATIONS, POSITION_ITERATIONS);

    const p = lander.getPosition();
    const v = lander.getLinearVelocity();
    const s = this.state;
    s[0] = (p.x - VIEWPORT_W / SCALE / 2) / (VIEWPORT_W / SCALE / 2);
    s[1] = (p.y - (this.helipadY + LEG_DOWN / SCALE)) / (VIEWPORT_H / SCALE / 2);
    s[2] = (v.x * (VIEWPORT_W / SCALE / 2)) / FPS;
    s[3] = (v.y * (VIEWPORT_H / SCALE / 2)) / FPS;
    s[4] = lander.getAngle();
    s[5] = (20.0 * lander.getAngularVelocity()) / FPS;
    s[6] = this.legContact0 ? 1.0 : 0.0;
    s[7] = this.legContact1 ? 1.0 : 0.0;

    // Shaping is updated on the reset step too, so the first real step's reward is a
    // difference (Gymnasium sets prev_shaping inside the step reset calls).
    const shaping =
      -100 * Math.sqrt(s[0] * s[0] + s[1] * s[1]) -
      100 * Math.sqrt(s[2] * s[2] + s[3] * s[3]) -
      100 * Math.abs(s[4]) +
      10 * s[6] +
      10 * s[7];
    this.lastReward = Number.isNaN(this.prevShaping) ? 0 : shaping - this.prevShaping;
    this.prevShaping = shaping;

    const obs = new Float32Array(8);
    for (let i = 0; i < 8; i++) obs[i] = s[i];
    return obs;
  }

  /** Fuel costs and termination (Gymnasium's step after the state). */
  private finish(observation: Float32Array, mPower: number, sPower: number): StepResult<Float32Array> {
    // "less fuel spent is better, about -30 for heuristic landing"
    let reward = this.lastReward - mPower * 0.3 - sPower * 0.03;
    let terminated = false;
    if (this.gameOver || Math.abs(this.state[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    // Checked second, as in Gymnasium: a lander at rest wins even if it touched down hard.
    if (!this.lander!.isAwake()) {
      terminated = true;
      reward = 100;
    }
    return { observation, reward, terminated, truncated: false, info: EMPTY_INFO };
  }
}
