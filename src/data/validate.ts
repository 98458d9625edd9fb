/**
 * Row-level validation of decision logs, in SQL so a 10-million-row file validates in
 * seconds: every check is one filtered scan of a staged table, and the cross-row rules
 * (duplicates, gaps, steps after a terminal one) are window functions.
 *
 * The input is a table `kairos_typed` built by {@link buildTypedTable}: one row per input row
 * with its 1-based `t_row`, the raw columns as read, and typed `t_*` columns (TRY_CAST, so a
 * bad value becomes NULL instead of failing the whole query). Each check names the field,
 * the raw value and what was expected; issues land in the `kairos_issues` table, from which
 * the first few are read into JS and the rest can be written to a report file with COPY.
 *
 * Row numbers count data records from 1 in file order (a CSV header is not a row, so a CSV
 * row r is on line r + 1 when no field spans lines). For a stored log, the row is the
 * table's insertion order.
 *
 * The SQL here is DuckDB's (TRY_CAST, list lambdas, isfinite); validation runs where the
 * data is imported, which is the embedded DuckDB.
 *
 * @example
 * const report = await validateStore(store); // { badRows, issueCount, issues: [{ row, field, value, expected }] }
 */
import { KairosError } from '../core/errors.js';
import { sqlIdent, sqlString, type SqlEngine } from './engine.js';
import { DECISIONS_TABLE, type LogSchema } from './schema.js';

/** One problem with one input row. */
export interface RowIssue {
  /** 1-based data row (file order, header excluded). */
  row: number;
  mdpId: string | null;
  sequenceNumber: number | null;
  /** Column (or input field) at fault. */
  field: string;
  /** The value as read (text), or null when missing. */
  value: string | null;
  expected: string;
}

/** Summary of a validation run. */
export interface ValidationSummary {
  /** Rows read. */
  rows: number;
  /** Distinct rows with at least one issue. */
  badRows: number;
  /** Issues in all (a row may have several). */
  issueCount: number;
  /** The first issues, by row (at most `maxIssues`). */
  issues: RowIssue[];
}

/** Formats an issue as one line: `row 4 (mdp_id "u1", sequence_number 2): action: expected ..., received 7`. */
export function formatIssue(issue: RowIssue): string {
  const where =
    issue.mdpId !== null && issue.field !== 'mdp_id'
      ? ` (mdp_id ${JSON.stringify(issue.mdpId)}${issue.sequenceNumber !== null && issue.field !== 'sequence_number' ? `, sequence_number ${issue.sequenceNumber}` : ''})`
      : '';
  return `row ${issue.row}${where}: ${issue.field}: expected ${issue.expected}, received ${formatRaw(issue.value)}`;
}

/** Raw values print as read: numbers and lists bare, other text quoted, null as "missing". */
export function formatRaw(value: string | null): string {
  if (value === null) return 'nothing (missing)';
  const s = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  if (/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) || /^\s*[[{].*[\]}]\s*$/.test(value) || /^(true|false)$/.test(value)) return s;
  return JSON.stringify(s);
}

/** The rows of a log failed validation (import in `reject` mode, or `validate`). */
export class LogValidationError extends KairosError {
  constructor(
    readonly source: string,
    readonly summary: ValidationSummary,
    /** Extra hint at the end of the message. */
    hint = '',
  ) {
    const shown = summary.issues.slice(0, 3).map(formatIssue).join('; ');
    const more = summary.issueCount > 3 ? `; ... (${summary.issueCount - 3} more issues)` : '';
    super(
      `${source}: ${summary.badRows} of ${summary.rows} rows are invalid${hint}: ${shown}${more}`,
      'invalid_log',
    );
    this.name = 'LogValidationError';
  }
}

/** How the input describes the state features and reward components. */
export interface SourceLayout {
  /** How raw values are typed: text (CSV), JSON fragments (JSON lines) or native (Parquet, tables). */
  readonly kind: 'text' | 'json' | 'native';
  /** The input's column names (after JSON key extraction). */
  readonly columns: readonly string[];
  /** Wide features: these columns, in order, make `state_features`. Absent: a `state_features` list column. */
  readonly featureColumns?: readonly string[];
  /** Wide reward components: column name per component (e.g. `reward_revenue` → `revenue`). */
  readonly componentColumns?: ReadonlyArray<{ column: string; name: string }>;
}

const q = sqlIdent;

function has(layout: SourceLayout, column: string): boolean {
  return layout.columns.includes(column);
}

/** A NULL of the column's type when the input does not have it. */
function raw(layout: SourceLayout, column: string): string {
  return has(layout, column) ? q(column) : 'NULL';
}

/** Text of a raw value for messages. */
function rawText(layout: SourceLayout, column: string): string {
  return has(layout, column) ? `CAST(${q(column)} AS VARCHAR)` : 'NULL';
}

function mapExpr(layout: SourceLayout, column: string): string {
  const c = raw(layout, column);
  if (c === 'NULL') return 'CAST(NULL AS MAP(VARCHAR, DOUBLE))';
  // CSV cells may hold DuckDB's map text `{a=1.5}` or a JSON object `{"a": 1.5}`.
  if (layout.kind === 'text') return `COALESCE(TRY_CAST(TRY_CAST(${c} AS JSON) AS MAP(VARCHAR, DOUBLE)), TRY_CAST(${c} AS MAP(VARCHAR, DOUBLE)))`;
  return `TRY_CAST(${c} AS MAP(VARCHAR, DOUBLE))`;
}

/**
 * Builds `kairos_typed` from a table holding the input in input order (its rowid + 1 is the
 * row number). Two layers: the inner casts, the outer derives integers and the
 * terminal flag (which, when the input has no `terminal` column, is true on the last row of
 * each episode in the input).
 */
export async function buildTypedTable(engine: SqlEngine, layout: SourceLayout, source: string): Promise<void> {
  const featuresExpr = layout.featureColumns
    ? layout.featureColumns.length === 0
      ? 'CAST([] AS FLOAT[])'
      : `[${layout.featureColumns.map((c) => `TRY_CAST(${q(c)} AS FLOAT)`).join(', ')}]`
    : `TRY_CAST(${raw(layout, 'state_features')} AS FLOAT[])`;
  const comps = layout.componentColumns;
  const compsExpr =
    comps && comps.length > 0
      ? `CASE WHEN ${comps.map((c) => `${q(c.column)} IS NULL`).join(' AND ')} THEN NULL ELSE MAP([${comps
          .map((c) => sqlString(c.name))
          .join(', ')}], [${comps.map((c) => `TRY_CAST(${q(c.column)} AS DOUBLE)`).join(', ')}]) END`
      : mapExpr(layout, 'reward_components');
  const inner = `SELECT rowid + 1 AS t_row, *,
    CASE WHEN CAST(${raw(layout, 'mdp_id')} AS VARCHAR) <> '' THEN CAST(${raw(layout, 'mdp_id')} AS VARCHAR) END AS t_mdp_id,
    TRY_CAST(${raw(layout, 'sequence_number')} AS DOUBLE) AS t_seq_d,
    TRY_CAST(${raw(layout, 'timestamp')} AS TIMESTAMP) AS t_timestamp,
    ${featuresExpr} AS t_features,
    TRY_CAST(${raw(layout, 'action')} AS DOUBLE) AS t_action_d,
    TRY_CAST(${raw(layout, 'action_probability')} AS DOUBLE) AS t_propensity,
    TRY_CAST(${raw(layout, 'possible_actions')} AS DOUBLE[]) AS t_mask_d,
    TRY_CAST(${raw(layout, 'reward')} AS DOUBLE) AS t_reward,
    ${compsExpr} AS t_components,
    TRY_CAST(${raw(layout, 'terminal')} AS BOOLEAN) AS t_terminal_raw
  FROM ${source}`;
  const int32 = (x: string) => `CASE WHEN ${x} = floor(${x}) AND ${x} BETWEEN -2147483648 AND 2147483647 THEN CAST(${x} AS INTEGER) END`;
  const terminal = has(layout, 'terminal')
    ? 't_terminal_raw'
    : `(t_seq IS NOT NULL AND t_mdp_id IS NOT NULL AND t_seq = MAX(t_seq) OVER (PARTITION BY t_mdp_id))`;
  await engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_typed AS
  SELECT *, ${terminal} AS t_terminal FROM (
    SELECT *, ${int32('t_seq_d')} AS t_seq, ${int32('t_action_d')} AS t_action FROM (${inner})
  ) ORDER BY t_row`);
}

interface Check {
  field: string;
  /** SQL: the raw value's text. */
  value: string;
  /** SQL: what was expected (a string expression). */
  expected: string;
  /** SQL condition on kairos_typed that marks the row bad. */
  when: string;
}

const lit = sqlString;
/** True when a numeric list has a NULL or non-finite element. */
const hasNonFinite = (list: string) => `len(list_filter(${list}, lambda x: x IS NULL OR NOT isfinite(x))) > 0`;

/** The per-row checks for a layout and schema. */
export function rowChecks(layout: SourceLayout, schema: LogSchema): Check[] {
  const d = schema.featureDim;
  const k = schema.numActions;
  const checks: Check[] = [
    { field: 'mdp_id', value: rawText(layout, 'mdp_id'), expected: lit('a non-empty episode id'), when: 't_mdp_id IS NULL' },
    { field: 'sequence_number', value: rawText(layout, 'sequence_number'), expected: lit('a 32-bit integer'), when: 't_seq IS NULL' },
  ];
  if (has(layout, 'timestamp')) {
    checks.push({
      field: 'timestamp',
      value: rawText(layout, 'timestamp'),
      expected: lit('a timestamp such as 2024-05-01 12:00:00, or nothing'),
      when: `${q('timestamp')} IS NOT NULL AND t_timestamp IS NULL`,
    });
  }
  if (layout.featureColumns) {
    for (const c of layout.featureColumns) {
      checks.push({
        field: c,
        value: `CAST(${q(c)} AS VARCHAR)`,
        expected: lit('a finite number (state feature)'),
        when: `TRY_CAST(${q(c)} AS FLOAT) IS NULL OR NOT isfinite(TRY_CAST(${q(c)} AS FLOAT))`,
      });
    }
  } else {
    const v = rawText(layout, 'state_features');
    checks.push(
      { field: 'state_features', value: v, expected: lit(`a list of ${d} numbers`), when: 't_features IS NULL' },
      { field: 'state_features', value: v, expected: lit(`a list of ${d} finite numbers (single precision)`), when: `t_features IS NOT NULL AND ${hasNonFinite('t_features')}` },
      {
        field: 'state_features',
        value: v,
        expected: `${lit(`${d} features (the log's feature_dim), found `)} || CAST(len(t_features) AS VARCHAR)`,
        when: `t_features IS NOT NULL AND NOT (${hasNonFinite('t_features')}) AND len(t_features) <> ${d}`,
      },
    );
  }
  const action = rawText(layout, 'action');
  checks.push(
    { field: 'action', value: action, expected: lit(`an integer action in [0, ${k})`), when: `t_action IS NULL OR t_action < 0 OR t_action >= ${k}` },
    {
      field: 'action_probability',
      value: rawText(layout, 'action_probability'),
      expected: lit('a probability in (0, 1]'),
      when: 't_propensity IS NULL OR NOT (t_propensity > 0 AND t_propensity <= 1)',
    },
  );
  if (has(layout, 'possible_actions')) {
    const v = rawText(layout, 'possible_actions');
    const bad01 = `len(list_filter(t_mask_d, lambda x: x IS NULL OR (x <> 0 AND x <> 1))) > 0`;
    checks.push(
      { field: 'possible_actions', value: v, expected: lit(`a list of ${k} 0/1 values, or nothing`), when: `${q('possible_actions')} IS NOT NULL AND t_mask_d IS NULL` },
      { field: 'possible_actions', value: v, expected: lit('0/1 values (1 = allowed)'), when: `t_mask_d IS NOT NULL AND ${bad01}` },
      {
        field: 'possible_actions',
        value: v,
        expected: `${lit(`${k} values (the log's num_actions), found `)} || CAST(len(t_mask_d) AS VARCHAR)`,
        when: `t_mask_d IS NOT NULL AND NOT (${bad01}) AND len(t_mask_d) <> ${k}`,
      },
      {
        field: 'possible_actions',
        value: v,
        expected: lit('at least one allowed action (a 1)'),
        when: `t_mask_d IS NOT NULL AND len(t_mask_d) = ${k} AND NOT (${bad01}) AND list_sum(t_mask_d) = 0`,
      },
      {
        field: 'action',
        value: action,
        expected: `'an allowed action (possible_actions[' || CAST(t_action AS VARCHAR) || '] is 0)'`,
        when: `t_action >= 0 AND t_action < ${k} AND t_mask_d IS NOT NULL AND len(t_mask_d) = ${k} AND NOT (${bad01}) AND list_sum(t_mask_d) > 0 AND t_mask_d[t_action + 1] = 0`,
      },
    );
  }
  checks.push({
    field: 'reward',
    value: rawText(layout, 'reward'),
    expected: lit('a finite number'),
    when: 't_reward IS NULL OR NOT isfinite(t_reward)',
  });
  const names = [...schema.rewardComponents].sort();
  const declared = names.length ? names.join(', ') : 'none declared';
  if (layout.componentColumns && layout.componentColumns.length > 0) {
    const cols = layout.componentColumns;
    for (const c of cols) {
      checks.push({
        field: c.column,
        value: `CAST(${q(c.column)} AS VARCHAR)`,
        expected: lit(`a finite number (reward component ${c.name})`),
        when: `${q(c.column)} IS NOT NULL AND (TRY_CAST(${q(c.column)} AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(${q(c.column)} AS DOUBLE)))`,
      });
    }
    if (cols.length > 1) {
      const nulls = cols.map((c) => `CAST(${q(c.column)} IS NULL AS INTEGER)`).join(' + ');
      checks.push({
        field: cols.map((c) => c.column).join('|'),
        value: `CONCAT_WS(', ', ${cols.map((c) => `CAST(${q(c.column)} AS VARCHAR)`).join(', ')})`,
        expected: lit('every reward component, or none'),
        when: `(${nulls}) NOT IN (0, ${cols.length})`,
      });
    }
  } else if (has(layout, 'reward_components')) {
    const v = rawText(layout, 'reward_components');
    const present = `t_components IS NOT NULL AND cardinality(t_components) > 0`;
    checks.push(
      {
        field: 'reward_components',
        value: v,
        expected: lit('a map of component name to number, e.g. {revenue=1.5} or {"revenue": 1.5}, or nothing'),
        when: `${q('reward_components')} IS NOT NULL AND t_components IS NULL`,
      },
      { field: 'reward_components', value: v, expected: lit('finite numbers'), when: `${present} AND ${hasNonFinite('map_values(t_components)')}` },
      {
        field: 'reward_components',
        value: v,
        expected: lit(`the components ${declared} (every one, or none)`),
        when: `${present} AND list_sort(map_keys(t_components)) <> ${names.length ? `[${names.map(lit).join(', ')}]` : 'CAST([] AS VARCHAR[])'}`,
      },
    );
  }
  if (has(layout, 'terminal')) {
    checks.push({ field: 'terminal', value: rawText(layout, 'terminal'), expected: lit('true or false'), when: 't_terminal_raw IS NULL' });
  }
  return checks;
}

/**
 * Cross-row checks over the rows whose (mdp_id, sequence_number) parsed, together with the
 * rows already stored in `existing` (when importing into a log that has rows): duplicates,
 * gaps (unless allowed) and steps after a terminal one. Stored rows carry a NULL row number;
 * an issue is always pinned on an input row.
 */
function crossRowSql(schema: LogSchema, existing: string | null): string {
  const store = existing
    ? `UNION ALL SELECT CAST(NULL AS BIGINT) AS row_number, mdp_id, sequence_number AS seq, terminal FROM ${existing}`
    : '';
  const gapCheck = schema.allowGaps ? 'FALSE' : 'seq - prev_seq > 1';
  return `WITH keyed AS (
    SELECT t_row AS row_number, t_mdp_id AS mdp_id, t_seq AS seq, t_terminal AS terminal FROM kairos_typed
    WHERE t_mdp_id IS NOT NULL AND t_seq IS NOT NULL
    ${store}
  ), ranked AS (
    SELECT *,
      ROW_NUMBER() OVER (PARTITION BY mdp_id, seq ORDER BY row_number NULLS FIRST) AS dup_rank,
      FIRST_VALUE(row_number) OVER (PARTITION BY mdp_id, seq ORDER BY row_number NULLS FIRST) AS first_row
    FROM keyed
  ), seqs AS (
    SELECT *,
      LAG(seq) OVER w AS prev_seq, LAG(row_number) OVER w AS prev_row, LAG(terminal) OVER w AS prev_terminal
    FROM ranked WHERE dup_rank = 1
    WINDOW w AS (PARTITION BY mdp_id ORDER BY seq)
  )
  SELECT row_number AS row, mdp_id, seq, 'sequence_number' AS field, CAST(seq AS VARCHAR) AS value,
    'a (mdp_id, sequence_number) pair not seen before (' ||
      CASE WHEN first_row IS NULL THEN 'the log already holds it' ELSE 'row ' || CAST(first_row AS VARCHAR) || ' has it' END || ')' AS expected
  FROM ranked WHERE dup_rank > 1 AND row_number IS NOT NULL
  UNION ALL
  SELECT CASE WHEN row_number IS NOT NULL THEN row_number ELSE prev_row END, mdp_id,
    CASE WHEN row_number IS NOT NULL THEN seq ELSE prev_seq END, 'sequence_number',
    CAST(CASE WHEN row_number IS NOT NULL THEN seq ELSE prev_seq END AS VARCHAR),
    CASE WHEN row_number IS NOT NULL
      THEN CAST(prev_seq + 1 AS VARCHAR) || ' (the previous step of this episode is ' || CAST(prev_seq AS VARCHAR) || '; gaps are not allowed)'
      ELSE CAST(seq - 1 AS VARCHAR) || ' (the log already holds step ' || CAST(seq AS VARCHAR) || ' of this episode; gaps are not allowed)'
    END
  FROM seqs WHERE prev_seq IS NOT NULL AND ${gapCheck} AND (row_number IS NOT NULL OR prev_row IS NOT NULL)
  UNION ALL
  SELECT CASE WHEN prev_row IS NOT NULL THEN prev_row ELSE row_number END, mdp_id,
    CASE WHEN prev_row IS NOT NULL THEN prev_seq ELSE seq END,
    CASE WHEN prev_row IS NOT NULL THEN 'terminal' ELSE 'sequence_number' END,
    CASE WHEN prev_row IS NOT NULL THEN 'true' ELSE CAST(seq AS VARCHAR) END,
    CASE WHEN prev_row IS NOT NULL
      THEN 'false (the episode continues at sequence_number ' || CAST(seq AS VARCHAR) ||
        CASE WHEN row_number IS NOT NULL THEN ', row ' || CAST(row_number AS VARCHAR) ELSE ' in the log' END || ')'
      ELSE 'no step after the terminal step ' || CAST(prev_seq AS VARCHAR) || ' of this episode (in the log)'
    END
  FROM seqs WHERE prev_terminal AND (row_number IS NOT NULL OR prev_row IS NOT NULL)`;
}

/**
 * Runs every check over `kairos_typed` into the table `kairos_issues` (row, mdp_id, seq,
 * field, value, expected) and returns the summary with the first `maxIssues` issues.
 *
 * @param existing table of already stored rows to check duplicates and sequences against, or null.
 */
export async function collectIssues(
  engine: SqlEngine,
  layout: SourceLayout,
  schema: LogSchema,
  existing: string | null,
  maxIssues = 20,
): Promise<ValidationSummary> {
  const checks = rowChecks(layout, schema);
  const rowSql = checks
    .map(
      (c) =>
        `SELECT t_row AS row, t_mdp_id AS mdp_id, t_seq AS seq, ${lit(c.field)} AS field, ${c.value} AS value, ${c.expected} AS expected FROM kairos_typed WHERE ${c.when}`,
    )
    .join('\nUNION ALL\n');
  await engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_issues AS
    SELECT * FROM (${rowSql}
    UNION ALL
    SELECT * FROM (${crossRowSql(schema, existing)}))`);
  const [counts] = await engine.query(
    `SELECT (SELECT COUNT(*) FROM kairos_typed) AS rows, COUNT(DISTINCT row) AS bad_rows, COUNT(*) AS issues FROM kairos_issues`,
  );
  const first = await engine.query(`SELECT * FROM kairos_issues ORDER BY row, field LIMIT ${Math.max(0, Math.floor(maxIssues))}`);
  return {
    rows: Number(counts.rows),
    badRows: Number(counts.bad_rows),
    issueCount: Number(counts.issues),
    issues: first.map((r) => ({
      row: Number(r.row),
      mdpId: r.mdp_id === null || r.mdp_id === undefined ? null : String(r.mdp_id),
      sequenceNumber: r.seq === null || r.seq === undefined ? null : Number(r.seq),
      field: String(r.field),
      value: r.value === null || r.value === undefined ? null : String(r.value),
      expected: String(r.expected),
    })),
  };
}

/**
 * Validates the rows stored in a log against its schema (everything an import checks: types
 * are already right, but a log written by another tool may break the value rules or the
 * sequence rules). Returns the summary; `throwOnError` makes it throw a
 * {@link LogValidationError} instead when any row is bad.
 */
export async function validateStore(
  store: { engine: SqlEngine; requireSchema(): LogSchema; path: string },
  options: { maxIssues?: number; throwOnError?: boolean } = {},
): Promise<ValidationSummary> {
  const engine = store.engine;
  const schema = store.requireSchema();
  try {
    const layout: SourceLayout = { kind: 'native', columns: ['mdp_id', 'sequence_number', 'timestamp', 'state_features', 'action', 'action_probability', 'possible_actions', 'reward', 'reward_components', 'terminal'] };
    await buildTypedTable(engine, layout, DECISIONS_TABLE);
    const summary = await collectIssues(engine, layout, schema, null, options.maxIssues);
    if (options.throwOnError && summary.issueCount > 0) throw new LogValidationError(store.path, summary);
    return summary;
  } finally {
    await dropTemp(engine);
  }
}

/** Drops the validation temp tables. */
export async function dropTemp(engine: SqlEngine): Promise<void> {
  await engine.execute('DROP TABLE IF EXISTS kairos_issues; DROP TABLE IF EXISTS kairos_typed; DROP TABLE IF EXISTS kairos_staged;');
}
