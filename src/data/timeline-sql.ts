/**
 * The timeline SQL: logged decisions → training transitions, and per-feature statistics for
 * normalisation. All of Kairos's portable SQL is in this file.
 *
 * Engines: written for and tested on DuckDB 1.5 (the embedded engine, `test/data`). It keeps
 * to the SQL:2003 window-function subset that Trino and Spark SQL also accept, so the same text
 * runs there against a table of the same columns, unchanged apart from the connection:
 * LEAD / ROW_NUMBER OVER a named window (PARTITION BY mdp_id ORDER BY sequence_number),
 * COALESCE, COUNT/AVG/STDDEV_POP/MIN/MAX, CAST to DOUBLE, and unquoted lower-case identifiers.
 * No engine-specific functions, no lambdas, no list functions: list columns (state features,
 * masks) are only carried through LEAD. The one exception is per-feature access for the
 * statistics, spelled by the engine's {@link SqlDialect} (`xs[i]` in DuckDB and Trino,
 * `element_at(xs, i)` in Spark). Not yet run on Trino or Spark: the claim rests on the
 * constructs used, each documented by both engines.
 *
 * The window function over all decisions is the one blocking step: the engine sorts (or
 * hashes) the log by episode. DuckDB does this out of core, spilling to its temp directory
 * beyond its memory limit, so a log larger than memory still runs; the rows then stream out.
 *
 * @example
 * await engine.execute(`COPY (${timelineSql()}) TO 'transitions.parquet' (FORMAT parquet)`);
 */
import { duckdbDialect, type SqlDialect } from './engine.js';
import { DECISIONS_TABLE } from './schema.js';

/** Options of {@link timelineSql}. */
export interface TimelineSqlOptions {
  /** Table (or parenthesised subquery with an alias) holding the decisions. Default `decisions`. */
  source?: string;
  /**
   * Order the output by (mdp_id, sequence_number): episodes come out contiguous and in order,
   * which the episodic readers need. Costs a sort; off for COPY to Parquet and aggregates.
   */
  ordered?: boolean;
}

/**
 * The timeline query. One output row per decision (columns in this order):
 *
 * | column | meaning |
 * | --- | --- |
 * | mdp_id, sequence_number, timestamp | as logged |
 * | step | 0-based position in the episode (ROW_NUMBER − 1) |
 * | state_features, action, action_probability, possible_actions | as logged |
 * | reward, reward_components, terminal | as logged |
 * | next_state_features | the next step's state; NULL on the last step of an episode |
 * | next_action | the next step's logged action; NULL on the last step |
 * | possible_next_actions | the next step's mask; NULL on the last step (and when the next step has none) |
 * | time_diff | next sequence_number − sequence_number (> 1 across a gap); 1 on the last step |
 *
 * A last step with `terminal` false is a truncated episode: there is no next state to
 * bootstrap from, and consumers should drop it (or treat it as a time-limit cut).
 */
export function timelineSql(options: TimelineSqlOptions = {}): string {
  const source = options.source ?? DECISIONS_TABLE;
  return `SELECT
  mdp_id,
  sequence_number,
  timestamp,
  ROW_NUMBER() OVER w - 1 AS step,
  state_features,
  action,
  action_probability,
  possible_actions,
  reward,
  reward_components,
  terminal,
  LEAD(state_features) OVER w AS next_state_features,
  LEAD(action) OVER w AS next_action,
  LEAD(possible_actions) OVER w AS possible_next_actions,
  COALESCE(LEAD(sequence_number) OVER w - sequence_number, 1) AS time_diff
FROM ${source}
WINDOW w AS (PARTITION BY mdp_id ORDER BY sequence_number)${options.ordered ? '\nORDER BY mdp_id, sequence_number' : ''}`;
}

/** The timeline's output columns, in order. */
export const TIMELINE_COLUMNS = [
  'mdp_id',
  'sequence_number',
  'timestamp',
  'step',
  'state_features',
  'action',
  'action_probability',
  'possible_actions',
  'reward',
  'reward_components',
  'terminal',
  'next_state_features',
  'next_action',
  'possible_next_actions',
  'time_diff',
] as const;

/**
 * Per-feature statistics over the logged states: for feature j (1-based in the column names),
 * `count_j`, `mean_j`, `std_j` (population standard deviation), `min_j`, `max_j`, and
 * `row_count`. One row.
 * Aggregates in DOUBLE so means of single-precision features do not lose digits.
 */
export function featureStatsSql(featureDim: number, dialect: SqlDialect = duckdbDialect, source: string = DECISIONS_TABLE): string {
  if (featureDim === 0) return `SELECT COUNT(*) AS row_count FROM ${source}`;
  const xs: string[] = [];
  const aggs: string[] = ['COUNT(*) AS row_count'];
  for (let j = 1; j <= featureDim; j++) {
    xs.push(`CAST(${dialect.listElement('state_features', j)} AS DOUBLE) AS x_${j}`);
    aggs.push(`COUNT(x_${j}) AS count_${j}`, `AVG(x_${j}) AS mean_${j}`, `STDDEV_POP(x_${j}) AS std_${j}`, `MIN(x_${j}) AS min_${j}`, `MAX(x_${j}) AS max_${j}`);
  }
  return `SELECT ${aggs.join(', ')}\nFROM (SELECT ${xs.join(', ')} FROM ${source}) features`;
}

/**
 * The timeline as the typed-array reader takes it: the columns it decodes, with each reward
 * component pulled out of the map into its own DOUBLE column `reward_component_<j>` (maps are
 * slow to decode row by row; a column is a plain vector). Map lookup is the dialect's.
 */
export function timelineReaderSql(components: readonly string[], dialect: SqlDialect = duckdbDialect, options: TimelineSqlOptions = {}): string {
  const comps = components.map((name, j) => `,\n  ${dialect.mapValue('reward_components', `'${name.replaceAll("'", "''")}'`)} AS reward_component_${j}`).join('');
  return `SELECT
  mdp_id, sequence_number, step, state_features, action, action_probability, possible_actions, reward, terminal,
  next_state_features, next_action, possible_next_actions, time_diff${comps}
FROM (${timelineSql({ source: options.source })}) timeline${options.ordered ? '\nORDER BY mdp_id, sequence_number' : ''}`;
}

/** The rows the OPE readers scan: decisions in episode order, only the columns they use. */
export function decisionScanSql(source: string = DECISIONS_TABLE): string {
  return `SELECT mdp_id, sequence_number, state_features, action, action_probability, possible_actions, reward, terminal
FROM ${source}
ORDER BY mdp_id, sequence_number`;
}
