/**
 * Running the timeline: straight to Parquet with COPY, or streamed into the flat typed arrays
 * the rest of Kairos uses, a batch at a time. Neither path holds the whole result in JS.
 *
 * @example
 * for await (const batch of streamTimeline(store, { batchRows: 65_536 })) {
 *   // batch.states: n × d, batch.nextStates, batch.actions, batch.rewards, batch.terminals ...
 *   replay.addBatch(batch);         // copy what you keep: the arrays are reused
 * }
 * await timelineToParquet(store, 'transitions.parquet');
 * const stats = await featureStatistics(store); // stats.mean[j], stats.std[j] ...
 */
import { renameSync, rmSync } from 'node:fs';
import { KairosError } from '../core/errors.js';
import { sqlString, type SqlEngine } from './engine.js';
import type { LogSchema } from './schema.js';
import { featureStatsSql, timelineReaderSql, timelineSql } from './timeline-sql.js';

/** Anything that holds a decision log: the embedded {@link LogStore}, or a remote engine with a schema. */
export interface LogSource {
  readonly engine: SqlEngine;
  /** For messages. */
  readonly path: string;
  requireSchema(): LogSchema;
}

/**
 * A batch of transitions in flat typed arrays (n rows; d = featureDim, K = numActions,
 * C = reward components). The arrays are reused by the next batch: copy what you keep.
 */
export interface TransitionBatch {
  readonly n: number;
  readonly featureDim: number;
  readonly numActions: number;
  /** Episode ids per row, when `withIds` was asked for. */
  readonly mdpIds: string[] | null;
  readonly sequenceNumbers: Int32Array;
  /** 0-based position in the episode. */
  readonly steps: Int32Array;
  /** n × d */
  readonly states: Float32Array;
  readonly actions: Int32Array;
  /** Logging propensity of the action. */
  readonly propensities: Float64Array;
  readonly rewards: Float64Array;
  /** n × C in the schema's component order; NaN where a row carries none. */
  readonly rewardComponents: Float64Array;
  /** n × K; all 1 where the log has no mask. */
  readonly possibleActions: Uint8Array;
  readonly terminals: Uint8Array;
  /** 1 when the row has a next step in its episode. */
  readonly hasNext: Uint8Array;
  /** n × d; zeros where there is no next step. */
  readonly nextStates: Float32Array;
  /** −1 where there is no next step. */
  readonly nextActions: Int32Array;
  /** n × K; all 0 where there is no next step (nothing is possible after the end), all 1 where the next step has no mask. */
  readonly possibleNextActions: Uint8Array;
  /** Sequence gap to the next step; 1 on the last step. */
  readonly timeDiffs: Int32Array;
}

/** Options of {@link streamTimeline}. */
export interface StreamTimelineOptions {
  /** Rows per batch (default 65 536). */
  batchRows?: number;
  /** Episodes contiguous and in order (default true; false skips a sort). */
  ordered?: boolean;
  /** Fill `mdpIds` (strings cost memory and time; default false). */
  withIds?: boolean;
}

function allocBatch(rows: number, d: number, k: number, c: number, withIds: boolean) {
  return {
    n: 0,
    featureDim: d,
    numActions: k,
    mdpIds: withIds ? new Array<string>(rows) : null,
    sequenceNumbers: new Int32Array(rows),
    steps: new Int32Array(rows),
    states: new Float32Array(rows * d),
    actions: new Int32Array(rows),
    propensities: new Float64Array(rows),
    rewards: new Float64Array(rows),
    rewardComponents: new Float64Array(rows * c),
    possibleActions: new Uint8Array(rows * k),
    terminals: new Uint8Array(rows),
    hasNext: new Uint8Array(rows),
    nextStates: new Float32Array(rows * d),
    nextActions: new Int32Array(rows),
    possibleNextActions: new Uint8Array(rows * k),
    timeDiffs: new Int32Array(rows),
  };
}

/** A view of the first n rows of a batch (subarrays share memory with it). */
function viewOf(b: ReturnType<typeof allocBatch>, n: number): TransitionBatch {
  const d = b.featureDim;
  const k = b.numActions;
  const c = b.rewardComponents.length / Math.max(1, b.rewards.length);
  return {
    n,
    featureDim: d,
    numActions: k,
    mdpIds: b.mdpIds ? b.mdpIds.slice(0, n) : null,
    sequenceNumbers: b.sequenceNumbers.subarray(0, n),
    steps: b.steps.subarray(0, n),
    states: b.states.subarray(0, n * d),
    actions: b.actions.subarray(0, n),
    propensities: b.propensities.subarray(0, n),
    rewards: b.rewards.subarray(0, n),
    rewardComponents: b.rewardComponents.subarray(0, n * c),
    possibleActions: b.possibleActions.subarray(0, n * k),
    terminals: b.terminals.subarray(0, n),
    hasNext: b.hasNext.subarray(0, n),
    nextStates: b.nextStates.subarray(0, n * d),
    nextActions: b.nextActions.subarray(0, n),
    possibleNextActions: b.possibleNextActions.subarray(0, n * k),
    timeDiffs: b.timeDiffs.subarray(0, n),
  };
}

/**
 * Streams the timeline into typed arrays, `batchRows` at a time. The engine streams its result
 * in chunks; JS only ever holds one batch.
 */
export async function* streamTimeline(source: LogSource, options: StreamTimelineOptions = {}): AsyncGenerator<TransitionBatch> {
  const schema = source.requireSchema();
  const batchRows = options.batchRows ?? 65_536;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new KairosError(`batchRows: expected an integer >= 1, received ${batchRows}`, 'invalid_option');
  const d = schema.featureDim;
  const k = schema.numActions;
  const names = schema.rewardComponents;
  const c = names.length;
  const b = allocBatch(batchRows, d, k, c, options.withIds ?? false);
  let n = 0;
  const sql = timelineReaderSql(names, source.engine.dialect, { ordered: options.ordered ?? true });
  for await (const chunk of source.engine.stream(sql)) {
    const mdp = b.mdpIds ? chunk.column('mdp_id') : null;
    const seq = chunk.column('sequence_number');
    const step = chunk.column('step');
    const state = chunk.column('state_features');
    const action = chunk.column('action');
    const prop = chunk.column('action_probability');
    const mask = chunk.column('possible_actions');
    const reward = chunk.column('reward');
    const comps = names.map((_, j) => chunk.column(`reward_component_${j}`));
    const terminal = chunk.column('terminal');
    const nextState = chunk.column('next_state_features');
    const nextAction = chunk.column('next_action');
    const nextMask = chunk.column('possible_next_actions');
    const timeDiff = chunk.column('time_diff');
    for (let r = 0; r < chunk.rowCount; r++) {
      if (n === batchRows) {
        yield viewOf(b, n);
        n = 0;
      }
      if (mdp) b.mdpIds![n] = mdp.string(r) ?? '';
      b.sequenceNumbers[n] = seq.number(r);
      b.steps[n] = step.number(r);
      const got = state.readList(r, b.states, n * d, d);
      if (got !== d) b.states.fill(0, n * d + got, (n + 1) * d);
      b.actions[n] = action.number(r);
      b.propensities[n] = prop.number(r);
      b.rewards[n] = reward.number(r);
      for (let j = 0; j < c; j++) b.rewardComponents[n * c + j] = comps[j].number(r);
      if (mask.isNull(r)) b.possibleActions.fill(1, n * k, (n + 1) * k);
      else mask.readList(r, b.possibleActions, n * k, k);
      b.terminals[n] = terminal.number(r);
      const next = !nextAction.isNull(r);
      b.hasNext[n] = next ? 1 : 0;
      b.nextActions[n] = next ? nextAction.number(r) : -1;
      if (next) {
        const gotNext = nextState.readList(r, b.nextStates, n * d, d);
        if (gotNext !== d) b.nextStates.fill(0, n * d + gotNext, (n + 1) * d);
        if (nextMask.isNull(r)) b.possibleNextActions.fill(1, n * k, (n + 1) * k);
        else nextMask.readList(r, b.possibleNextActions, n * k, k);
      } else {
        b.nextStates.fill(0, n * d, (n + 1) * d);
        b.possibleNextActions.fill(0, n * k, (n + 1) * k);
      }
      b.timeDiffs[n] = timeDiff.number(r);
      n++;
    }
  }
  if (n > 0) yield viewOf(b, n);
}

/** Options of {@link timelineToParquet}. */
export interface TimelineParquetOptions {
  /** Sort by (mdp_id, sequence_number) first (default false: the engine's order). */
  ordered?: boolean;
}

/**
 * Writes the timeline to a Parquet file with COPY: the engine streams it to disk, nothing
 * goes through JS. Written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function timelineToParquet(source: LogSource, path: string, options: TimelineParquetOptions = {}): Promise<{ rows: number; path: string }> {
  source.requireSchema();
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await source.engine.execute(`COPY (${timelineSql({ ordered: options.ordered ?? false })}) TO ${sqlString(tmp)} (FORMAT parquet)`);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const [{ n }] = await source.engine.query(`SELECT COUNT(*) AS n FROM read_parquet(${sqlString(path)})`);
  return { rows: Number(n), path };
}

/** Per-feature statistics of the logged states, for normalisation. */
export interface FeatureStatistics {
  /** Decisions in the log. */
  rows: number;
  /** Feature names (schema names, or `f0`, `f1`, ...). */
  names: string[];
  /** Non-null values per feature. */
  count: Float64Array;
  mean: Float64Array;
  /** Population standard deviation. */
  std: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/**
 * Mean, standard deviation, min, max and count of every state feature over the log, in one
 * SQL aggregate pass.
 *
 * @example
 * const s = await featureStatistics(store);
 * const z = (x: number, j: number) => (x - s.mean[j]) / (s.std[j] || 1);
 */
export async function featureStatistics(source: LogSource): Promise<FeatureStatistics> {
  const schema = source.requireSchema();
  const d = schema.featureDim;
  const [row] = await source.engine.query(featureStatsSql(d, source.engine.dialect));
  const pick = (prefix: string) => Float64Array.from({ length: d }, (_, j) => {
    const v = row[`${prefix}_${j + 1}`];
    return v === null || v === undefined ? NaN : Number(v);
  });
  return {
    rows: Number(row.row_count),
    names: schema.featureNames ? [...schema.featureNames] : Array.from({ length: d }, (_, j) => `f${j}`),
    count: pick('count'),
    mean: pick('mean'),
    std: pick('std'),
    min: pick('min'),
    max: pick('max'),
  };
}

/** Statistics as plain JSON (for a `.stats.json` file next to the transitions). */
export function statisticsToJson(stats: FeatureStatistics): Record<string, unknown> {
  return {
    rows: stats.rows,
    features: stats.names.map((name, j) => ({
      name,
      count: stats.count[j],
      mean: stats.mean[j],
      std: stats.std[j],
      min: stats.min[j],
      max: stats.max[j],
    })),
  };
}
