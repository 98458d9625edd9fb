/**
 * GridWorld-v0: walk from S to G on a small grid with walls; moves into walls are masked.
 *
 * The layout is a list of rows: `#` wall, `S` start, `G` goal (terminal), `X` trap (terminal,
 * `trapReward`), `.` free. Actions: 0 up, 1 right, 2 down, 3 left. `info.actionMask` marks the
 * moves that would leave the grid or enter a wall as invalid (0). An invalid move taken anyway
 * leaves the agent where it is (and costs a step), so agents that ignore masks still work.
 * With `slip` > 0 a move goes to one of the two perpendicular directions instead, each with
 * probability slip / 2 (the slippery grid of Russell & Norvig, AIMA 3rd ed. §17.1, where
 * slip = 0.2); a slip into a wall also stays.
 *
 * Rewards: `stepReward` per step, plus `goalReward` on reaching G or `trapReward` on falling
 * into X. With `revisitPenalty` > 0 the reward depends on the whole history: entering a cell
 * already visited in this episode costs `revisitPenalty` more (staying in place does not). The
 * position alone is then not a Markov state; with `observeVisited` the observation also carries
 * the visited cells, which makes it one again. `info.rewardVector = { task, revisit }`.
 *
 * Observation (float32): one-hot of the agent's cell (rows × cols), then with `observeVisited`
 * a 0/1 flag per cell for visited.
 *
 * Exact reference: {@link gridWorldValueIteration} (value iteration over the cell, or over
 * (cell, visited set) when `revisitPenalty` > 0). With the default layout and no slip the
 * optimal return is −(shortest path length) = −9.
 *
 * @example
 * const env = make('GridWorld-v0', { slip: 0.1 });
 * const { info } = env.reset({ seed: 0 });
 * info.actionMask; // Uint8Array [0, 1, 1, 0]: up and left leave the grid
 */
import { z } from 'zod';
import { KairosError, parseWith } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { Box, Discrete } from '../../core/spaces.js';
import { seedEnvRng } from '../env.js';
import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { EnvRegistration } from '../registry.js';
import { invalidActionError } from '../classic/validation.js';

const ENV_ID = 'GridWorld-v0';
/** Row and column offsets of actions 0 up, 1 right, 2 down, 3 left. */
const MOVES: readonly (readonly [number, number])[] = [
  [-1, 0],
  [0, 1],
  [1, 0],
  [0, -1],
];
/** Largest number of free cells for which the history-dependent value iteration runs (2^n sets). */
const MAX_HISTORY_CELLS = 16;

/**
 * The default layout, 5 × 6: the open top row leads into a dead end, and the shortest path
 * (9 steps) winds down the left side and through the middle.
 */
export const DEFAULT_GRID_LAYOUT: readonly string[] = Object.freeze(['S...#.', '.##.#.', '...#..', '.#...#', '...#.G']);

/** Options of `make('GridWorld-v0', ...)`. */
export const GridWorldOptionsSchema = z
  .strictObject({
    /** Rows of the grid: `#` wall, `S` start (exactly one), `G` goal, `X` trap, `.` free. */
    layout: z.array(z.string().min(1).max(64)).min(1).max(64).default(() => [...DEFAULT_GRID_LAYOUT]),
    /** Probability that a move goes sideways instead (half to each side). */
    slip: z.number().min(0).max(1).default(0),
    /** Reward of every step. */
    stepReward: z.number().default(-1),
    /** Extra reward on reaching G. */
    goalReward: z.number().default(0),
    /** Extra reward on entering X. */
    trapReward: z.number().default(-10),
    /** Extra cost of entering a cell already visited this episode (history-dependent reward). */
    revisitPenalty: z.number().nonnegative().default(0),
    /** Append the visited cells to the observation (makes the revisit penalty Markov). */
    observeVisited: z.boolean().default(false),
  })
  .refine((o) => o.layout.every((r) => r.length === o.layout[0].length), { message: 'all layout rows must have the same length', path: ['layout'] })
  .refine((o) => o.layout.every((r) => /^[#SGX.]+$/.test(r)), { message: 'layout may only contain # S G X .', path: ['layout'] })
  .refine((o) => o.layout.join('').split('S').length === 2, { message: 'layout needs exactly one S', path: ['layout'] })
  .refine((o) => o.layout.join('').includes('G'), { message: 'layout needs at least one G', path: ['layout'] });

/** Options as a user writes them. */
export type GridWorldOptions = z.input<typeof GridWorldOptionsSchema>;
/** Options with defaults applied. */
export type ResolvedGridWorldOptions = z.output<typeof GridWorldOptionsSchema>;

/** Validates options and fills defaults (throws a ValidationError naming the field). */
export function resolveGridWorldOptions(options: GridWorldOptions | ResolvedGridWorldOptions = {}): ResolvedGridWorldOptions {
  return parseWith(GridWorldOptionsSchema, options, ENV_ID);
}

/** The parsed grid: cell kinds, the start, and for each cell and action the cell a move reaches. */
export interface GridModel {
  readonly rows: number;
  readonly cols: number;
  /** Cell kind by index r · cols + c: one of `#SGX.`. */
  readonly cells: string;
  readonly start: number;
  /** `next[4 · cell + a]`: the cell an (unslipped) move `a` reaches (the same cell if blocked). */
  readonly next: Int32Array;
  /** `valid[4 · cell + a]`: 1 when move `a` stays on the grid and off walls. */
  readonly valid: Uint8Array;
}

/** Parses a layout into a {@link GridModel}. */
export function gridModel(o: ResolvedGridWorldOptions): GridModel {
  const rows = o.layout.length;
  const cols = o.layout[0].length;
  const cells = o.layout.join('');
  const next = new Int32Array(4 * rows * cols);
  const valid = new Uint8Array(4 * rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      for (let a = 0; a < 4; a++) {
        const rr = r + MOVES[a][0];
        const cc = c + MOVES[a][1];
        const ok = rr >= 0 && rr < rows && cc >= 0 && cc < cols && cells[rr * cols + cc] !== '#';
        valid[4 * i + a] = ok ? 1 : 0;
        next[4 * i + a] = ok ? rr * cols + cc : i;
      }
    }
  }
  return { rows, cols, cells, start: cells.indexOf('S'), next, valid };
}

/** The (up to three) outcomes of action `a`: the intended move and the two sideways slips. */
function outcomes(slip: number, a: number): Array<[move: number, probability: number]> {
  if (slip === 0) return [[a, 1]];
  const out: Array<[number, number]> = [];
  if (slip < 1) out.push([a, 1 - slip]);
  out.push([(a + 1) % 4, slip / 2], [(a + 3) % 4, slip / 2]);
  return out;
}

/** GridWorld-v0; see the module comment. */
export class GridWorld implements Env<Float32Array, number> {
  readonly observationSpace: Box;
  readonly actionSpace = new Discrete(4);
  spec?: EnvSpec = undefined;
  readonly options: ResolvedGridWorldOptions;
  readonly model: GridModel;
  private readonly n: number;
  private readonly visited: Uint8Array;
  private cell = 0;
  private done = true;
  private rng: Rng | undefined = undefined;

  constructor(options: GridWorldOptions = {}) {
    this.options = resolveGridWorldOptions(options);
    this.model = gridModel(this.options);
    this.n = this.model.rows * this.model.cols;
    this.visited = new Uint8Array(this.n);
    this.observationSpace = new Box(0, 1, [this.options.observeVisited ? 2 * this.n : this.n]);
  }

  /** The agent's cell as [row, col]. */
  get position(): [number, number] {
    return [Math.floor(this.cell / this.model.cols), this.cell % this.model.cols];
  }

  /** Puts the agent on S with only S visited. The start is fixed; the seed drives the slips. */
  reset(opts?: ResetOptions): ResetResult<Float32Array> {
    this.rng = seedEnvRng(this.rng, opts?.seed);
    this.cell = this.model.start;
    this.visited.fill(0);
    this.visited[this.cell] = 1;
    this.done = false;
    return { observation: this.observe(), info: { actionMask: this.mask() } };
  }

  /** Moves (0 up, 1 right, 2 down, 3 left); see the module comment for slips and rewards. */
  step(action: number): StepResult<Float32Array> {
    if (!this.actionSpace.contains(action)) throw invalidActionError(ENV_ID, action, this.actionSpace);
    if (this.done) throw new KairosError(`${ENV_ID}: step() after the episode ended; call reset()`, 'reset_needed');
    const o = this.options;
    let move = action;
    if (o.slip > 0) {
      const u = this.rng!.random();
      if (u < o.slip / 2) move = (action + 1) % 4;
      else if (u < o.slip) move = (action + 3) % 4;
    }
    const from = this.cell;
    const to = this.model.next[4 * from + move];
    const kind = this.model.cells[to];
    let task = o.stepReward;
    if (kind === 'G') task += o.goalReward;
    else if (kind === 'X') task += o.trapReward;
    const revisit = to !== from && this.visited[to] === 1 ? 0 - o.revisitPenalty : 0; // 0 − p: never −0
    this.cell = to;
    this.visited[to] = 1;
    this.done = kind === 'G' || kind === 'X';
    return {
      observation: this.observe(),
      reward: task + revisit,
      terminated: this.done,
      truncated: false,
      info: { actionMask: this.mask(), rewardVector: { task, revisit } },
    };
  }

  private mask(): Uint8Array {
    return this.model.valid.slice(4 * this.cell, 4 * this.cell + 4);
  }

  private observe(): Float32Array {
    const obs = new Float32Array(this.observationSpace.size);
    obs[this.cell] = 1;
    if (this.options.observeVisited) for (let i = 0; i < this.n; i++) obs[this.n + i] = this.visited[i];
    return obs;
  }
}

/** What {@link gridWorldValueIteration} found. */
export interface GridWorldSolution {
  /** Optimal expected (undiscounted unless `gamma` < 1) return from the start. */
  readonly value: number;
  /** Number of sweeps until the largest change fell below the tolerance. */
  readonly sweeps: number;
  /**
   * The optimal action from the current observation of the env (built with the same options):
   * the greedy action of the solved values. With `revisitPenalty` > 0 it needs `observeVisited`.
   */
  readonly policy: (obs: Float32Array) => number;
  /** Optimal value of each cell with only that cell visited (-Infinity for walls and cells not reachable from S). */
  readonly cellValues: Float64Array;
}

/** Options of {@link gridWorldValueIteration}. */
export interface GridWorldValueIterationOptions {
  /** Discount factor (default 1: the env's undiscounted return, a stochastic shortest path). */
  gamma?: number;
  /** Stop when no value changes by more than this in a sweep (default 1e-10). */
  tolerance?: number;
  /** Give up after this many sweeps (default 100 000). */
  maxSweeps?: number;
}

/**
 * Value iteration (Bellman 1957; Sutton & Barto 2018, §4.4) on the exact model of a GridWorld
 * with no time limit. Without a revisit penalty the state is the cell. With one, the state is
 * (cell, visited set): the visited set only grows, and the value of entering a cell depends on
 * it; the solver then needs at most 16 free cells (2^16 sets). Terminal cells have value 0.
 * Returns the optimal value from the start; the greedy policy reads the env's observation.
 *
 * @example
 * gridWorldValueIteration().value; // -9 (default layout, no slip)
 * gridWorldValueIteration({ slip: 0.2 }).value; // the slippery optimum
 */
export function gridWorldValueIteration(options: GridWorldOptions = {}, vi: GridWorldValueIterationOptions = {}): GridWorldSolution {
  const o = resolveGridWorldOptions(options);
  const { gamma = 1, tolerance = 1e-10, maxSweeps = 100_000 } = vi;
  const m = gridModel(o);
  const n = m.rows * m.cols;
  const history = o.revisitPenalty > 0;
  const terminal = (i: number) => m.cells[i] === 'G' || m.cells[i] === 'X';
  // Cells reachable from S without passing a terminal cell (moves are reversible, so from each
  // of them S, and so G, is reachable again); only these are solved.
  const reachable = new Uint8Array(n);
  const queue = [m.start];
  reachable[m.start] = 1;
  while (queue.length > 0) {
    const i = queue.shift()!;
    if (terminal(i)) continue;
    for (let a = 0; a < 4; a++) {
      const j = m.next[4 * i + a];
      if (!reachable[j]) {
        reachable[j] = 1;
        queue.push(j);
      }
    }
  }
  if (![...m.cells].some((c, i) => c === 'G' && reachable[i])) {
    throw new KairosError('gridWorldValueIteration: no G is reachable from S', 'invalid_argument');
  }
  // Reachable cells get bit positions for the visited set.
  const bit = new Int32Array(n).fill(-1);
  let free = 0;
  for (let i = 0; i < n; i++) if (reachable[i]) bit[i] = free++;
  if (history && free > MAX_HISTORY_CELLS) {
    throw new KairosError(`gridWorldValueIteration: the revisit penalty needs (cell, visited set) states; ${free} reachable cells exceed ${MAX_HISTORY_CELLS}`, 'invalid_argument');
  }
  const sets = history ? 2 ** free : 1;
  // Outcome tables: for cell i and action a, up to 3 (next cell, probability, reward) triples.
  const outTo = new Int32Array(12 * n);
  const outP = new Float64Array(12 * n);
  const outR = new Float64Array(12 * n);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 4; a++) {
      outcomes(o.slip, a).forEach(([mv, p], j) => {
        const to = m.next[4 * i + mv];
        outTo[12 * i + 3 * a + j] = to;
        outP[12 * i + 3 * a + j] = p;
        outR[12 * i + 3 * a + j] = o.stepReward + (m.cells[to] === 'G' ? o.goalReward : m.cells[to] === 'X' ? o.trapReward : 0);
      });
    }
  }
  const V = new Float64Array(n * sets);
  const q = (i: number, s: number, a: number): number => {
    let v = 0;
    for (let j = 0; j < 3; j++) {
      const p = outP[12 * i + 3 * a + j];
      if (p === 0) continue;
      const to = outTo[12 * i + 3 * a + j];
      let r = outR[12 * i + 3 * a + j];
      let s2 = 0;
      if (history) {
        const b = 1 << bit[to];
        if (to !== i && (s & b) !== 0) r -= o.revisitPenalty;
        s2 = s | b;
      }
      v += p * (r + (terminal(to) ? 0 : gamma * V[to * sets + s2]));
    }
    return v;
  };
  const cellsToSolve: number[] = [];
  for (let i = 0; i < n; i++) if (reachable[i] && !terminal(i)) cellsToSolve.push(i);
  let sweeps = 0;
  for (;;) {
    let delta = 0;
    for (const i of cellsToSolve) {
      const own = history ? 1 << bit[i] : 0;
      for (let s = 0; s < sets; s++) {
        // A visited set always holds the agent's own cell; other sets are unreachable.
        if (history && (s & own) === 0) continue;
        let best = -Infinity;
        for (let a = 0; a < 4; a++) {
          const v = q(i, s, a);
          if (v > best) best = v;
        }
        const k = i * sets + s;
        const d = Math.abs(best - V[k]);
        if (d > delta) delta = d;
        V[k] = best;
      }
    }
    sweeps++;
    if (delta <= tolerance) break;
    if (sweeps >= maxSweeps || !Number.isFinite(delta)) {
      throw new KairosError(`gridWorldValueIteration: no convergence after ${sweeps} sweeps (largest change ${delta})`, 'numerical_error');
    }
  }
  const cellValues = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < n; i++) if (reachable[i]) cellValues[i] = terminal(i) ? 0 : V[i * sets + (history ? 1 << bit[i] : 0)];
  const policy = (obs: Float32Array): number => {
    let i = 0;
    for (let j = 1; j < n; j++) if (obs[j] > obs[i]) i = j;
    let s = 0;
    if (history) {
      if (obs.length < 2 * n) throw new KairosError('GridWorld value-iteration policy: with revisitPenalty > 0 the env needs observeVisited: true', 'invalid_argument');
      for (let j = 0; j < n; j++) if (obs[n + j] > 0.5 && bit[j] >= 0) s |= 1 << bit[j];
    }
    let best = -Infinity;
    let arg = 0;
    for (let a = 0; a < 4; a++) {
      const v = q(i, s, a);
      if (v > best + 1e-12) {
        best = v;
        arg = a;
      }
    }
    return arg;
  };
  return { value: V[m.start * sets + (history ? 1 << bit[m.start] : 0)], sweeps, policy, cellValues };
}

/** Registration of GridWorld-v0 (`envs/builtin.ts` registers it). */
export const gridWorldRegistration: EnvRegistration<ResolvedGridWorldOptions> = {
  id: ENV_ID,
  entryPoint: (opts) => new GridWorld(opts),
  optionsSchema: GridWorldOptionsSchema as unknown as z.ZodType<ResolvedGridWorldOptions>,
  maxEpisodeSteps: 100,
  description: 'Small grid with walls and invalid-action masks; optional slip and a history-dependent revisit penalty; exact values by value iteration.',
};
