/**
 * Importers (CSV, Parquet, JSON lines) into a {@link LogStore}, with validation, and exporters
 * to the same formats. Reading and writing go through DuckDB's own readers and COPY, so a
 * file never passes through JS row by row.
 *
 * Input layout, in every format: one record per decision with the columns of the
 * `decisions` table (see schema.ts). Conveniences:
 * - `state_features` may be a list column (`[0.1, 2]` in CSV), or absent: then every column
 *   that is not a known one makes a feature, in file order ("wide" layout), and the column
 *   names become the log's feature names. `featureColumns` picks them explicitly.
 * - `reward_components` may be a map (`{revenue=1.5}` or `{"revenue": 1.5}` in CSV, an
 *   object in JSON, a MAP or STRUCT in Parquet), or columns `reward_<name>` (wide).
 * - `terminal` may be absent: the last row of each episode in the file is then terminal.
 * - `timestamp` and `possible_actions` are optional.
 *
 * Validation ({@link collectIssues}) runs before anything is written. `mode: 'reject'`
 * (default) imports nothing when any row is bad and throws a {@link LogValidationError} with
 * the first bad rows and the count. `mode: 'skip'` imports the good rows and reports the rest;
 * a bad row takes the rest of its episode with it (a sequence with a hole would give wrong
 * next states in the timeline), and those rows are reported too, with the reason. Nothing is
 * ever dropped without a line in the report.
 *
 * @example
 * const store = await LogStore.open('log.duckdb');
 * const result = await importLog(store, 'decisions.csv', { mode: 'skip', reportPath: 'skipped.csv' });
 * console.log(result.imported, result.skipped);
 * await exportLog(store, 'decisions.parquet');
 */
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { extname } from 'node:path';
import { KairosError } from '../core/errors.js';
import { sqlIdent, sqlString, type SqlEngine } from './engine.js';
import { DECISION_COLUMNS, DECISIONS_TABLE, parseLogSchema, type LogSchema, type LogSchemaInput } from './schema.js';
import type { LogStore } from './store.js';
import { splitCsvLine } from './target-policy.js';
import {
  buildTypedTable,
  collectIssues,
  dropTemp,
  LogValidationError,
  type RowIssue,
  type SourceLayout,
  type ValidationSummary,
} from './validate.js';

/** File formats the importers and exporters handle. */
export type LogFormat = 'csv' | 'parquet' | 'jsonl';

/** What to do with invalid rows. */
export type ImportMode = 'reject' | 'skip';

/** Options of {@link importLog} and {@link validateFile}. */
export interface ImportOptions {
  /** Default: from the extension (.csv, .parquet/.pq, .jsonl/.ndjson/.json). */
  format?: LogFormat;
  /** `reject` (default): nothing is imported if any row is bad. `skip`: import the good rows. */
  mode?: ImportMode;
  /** Write every issue (and every row skipped with its episode) here: .csv, or .json/.jsonl. */
  reportPath?: string;
  /** Wide layout: these columns, in order, are the state features. */
  featureColumns?: string[];
  /** For a log without a schema: values that override what is inferred from the file. */
  schema?: Partial<LogSchemaInput>;
  /** Issues returned in the result (default 20; the report file has all of them). */
  maxIssues?: number;
}

/** What an import (or a dry-run validation) did. */
export interface ImportResult {
  source: string;
  format: LogFormat;
  mode: ImportMode;
  /** Rows read from the file. */
  rowsRead: number;
  /** Rows written to the log (0 for {@link validateFile}). */
  imported: number;
  /** Rows not imported: the bad ones and the rest of their episodes. */
  skipped: number;
  /** Rows with at least one issue, and the issues in all. */
  badRows: number;
  issueCount: number;
  /** The first issues, by row. */
  issues: RowIssue[];
  /** The report file, when one was asked for. */
  reportPath?: string;
  /** The log's schema after the import. */
  schema: LogSchema;
  /** True when this import set the log's schema (inferred from the file). */
  schemaInferred: boolean;
}

/** Picks the format from `format` or the file extension. */
export function detectFormat(path: string, format?: string): LogFormat {
  if (format !== undefined) {
    if (format === 'csv' || format === 'parquet' || format === 'jsonl') return format;
    throw new KairosError(`unknown format ${JSON.stringify(format)}: expected csv, parquet or jsonl`, 'invalid_option');
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new KairosError(`cannot tell the format of ${path} from its extension: pass a format (csv, parquet or jsonl)`, 'invalid_option');
}

/** Reads and parses the header line of a CSV file (RFC 4180 quoting). */
export function readCsvHeader(path: string): string[] {
  const fd = openSync(path, 'r');
  let text = '';
  try {
    const buf = Buffer.alloc(1 << 16);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      text += buf.toString('utf8', 0, n);
      pos += n;
      if (endOfFirstRecord(text) >= 0 || pos > 1 << 24) break;
    }
  } finally {
    closeSync(fd);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const end = endOfFirstRecord(text);
  const line = (end >= 0 ? text.slice(0, end) : text).replace(/\r$/, '');
  if (line.trim() === '') throw new KairosError(`${path}: empty file (expected a header line)`, 'invalid_log');
  return splitCsvLine(line).map((f) => f.trim());
}

function endOfFirstRecord(text: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' && !quoted) return i;
  }
  return -1;
}

const KNOWN = new Set<string>(DECISION_COLUMNS);
const REQUIRED = ['mdp_id', 'sequence_number', 'action', 'action_probability', 'reward'];

/** Works out the layout (list or wide features, map or wide components) from the columns. */
export function layoutFor(source: string, kind: SourceLayout['kind'], columns: readonly string[], featureColumns?: readonly string[]): SourceLayout {
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new KairosError(`${source}: column ${JSON.stringify(c)} appears twice`, 'invalid_log');
    seen.add(c);
  }
  const missing = REQUIRED.filter((c) => !seen.has(c));
  if (missing.length) {
    throw new KairosError(`${source}: missing column(s) ${missing.join(', ')} (found: ${columns.join(', ') || 'none'})`, 'invalid_log');
  }
  const componentColumns = columns
    .filter((c) => c.startsWith('reward_') && c !== 'reward_components' && !KNOWN.has(c) && !(featureColumns ?? []).includes(c))
    .map((column) => ({ column, name: column.slice('reward_'.length) }));
  if (componentColumns.length && seen.has('reward_components')) {
    throw new KairosError(
      `${source}: both a reward_components column and reward_<name> columns (${componentColumns.map((c) => c.column).join(', ')}); use one`,
      'invalid_log',
    );
  }
  const others = columns.filter((c) => !KNOWN.has(c) && !componentColumns.some((x) => x.column === c));
  let features: readonly string[] | undefined;
  if (featureColumns) {
    if (seen.has('state_features')) throw new KairosError(`${source}: featureColumns given but the file has a state_features column`, 'invalid_option');
    const absent = featureColumns.filter((c) => !seen.has(c));
    if (absent.length) throw new KairosError(`${source}: feature column(s) ${absent.join(', ')} not in the file (found: ${columns.join(', ')})`, 'invalid_option');
    const extra = others.filter((c) => !featureColumns.includes(c));
    if (extra.length) throw new KairosError(`${source}: unexpected column(s) ${extra.join(', ')} (not a decision column, a reward_<name> component or a feature column)`, 'invalid_log');
    features = featureColumns;
  } else if (seen.has('state_features')) {
    if (others.length) {
      throw new KairosError(
        `${source}: unexpected column(s) ${others.join(', ')} next to state_features (known: ${DECISION_COLUMNS.join(', ')}, reward_<name>)`,
        'invalid_log',
      );
    }
  } else {
    features = others;
  }
  return { kind, columns, ...(features ? { featureColumns: features } : {}), ...(componentColumns.length ? { componentColumns } : {}) };
}

const LIST_COLUMNS = new Set(['state_features', 'possible_actions', 'reward_components']);

/**
 * Loads a file into the temp table `kairos_staged`, in file order, and returns its layout.
 * CSV is read with fixed options (no sniffing: the sniffer can decide to skip malformed
 * leading lines, which would drop rows silently); a malformed line fails the import with its
 * line number.
 */
export async function stageFile(engine: SqlEngine, path: string, format: LogFormat, featureColumns?: readonly string[]): Promise<SourceLayout> {
  if (!existsSync(path)) throw new KairosError(`no such file: ${path}`, 'file_not_found');
  const file = sqlString(path);
  if (format === 'csv') {
    const columns = readCsvHeader(path);
    const layout = layoutFor(path, 'text', columns, featureColumns);
    const types = columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
    await wrap(path, () =>
      engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_staged AS SELECT * FROM read_csv(${file}, header = true, auto_detect = false,
        delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false, columns = {${types}})`),
    );
    return layout;
  }
  if (format === 'parquet') {
    const described = await wrap(path, () => engine.query(`DESCRIBE SELECT * FROM read_parquet(${file})`));
    const layout = layoutFor(path, 'native', described.map((r) => String(r.column_name)), featureColumns);
    await wrap(path, () => engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_staged AS SELECT * FROM read_parquet(${file})`));
    return layout;
  }
  // JSON lines: one object per line, fields pulled out as text (scalars) or JSON (lists, maps)
  // so a value of the wrong type is a row error rather than a failed type inference.
  await wrap(path, () => engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_json AS SELECT json FROM read_ndjson_objects(${file})`));
  try {
    const notObjects = await engine.query(`SELECT rowid + 1 AS row FROM kairos_json WHERE json_type(json) <> 'OBJECT' LIMIT 1`);
    if (notObjects.length) throw new KairosError(`${path}: row ${notObjects[0].row}: expected a JSON object per line`, 'invalid_log');
    const keys = await engine.query(`SELECT k FROM (SELECT DISTINCT unnest(json_keys(json)) AS k FROM kairos_json) ORDER BY k`);
    const columns = keys.map((r) => String(r.k));
    // Keys in first-seen order would need a second pass; wide JSON features are ordered by
    // name unless featureColumns says otherwise.
    const layout = layoutFor(path, 'json', columns, featureColumns);
    const select = columns
      .map((c) => {
        const key = sqlString(c);
        return LIST_COLUMNS.has(c)
          ? `CASE WHEN json_type(json -> ${key}) = 'NULL' THEN NULL ELSE json -> ${key} END AS ${sqlIdent(c)}`
          : `json ->> ${key} AS ${sqlIdent(c)}`;
      })
      .join(', ');
    await engine.execute(`CREATE OR REPLACE TEMP TABLE kairos_staged AS SELECT ${select} FROM kairos_json ORDER BY rowid`);
    return layout;
  } finally {
    await engine.execute('DROP TABLE IF EXISTS kairos_json');
  }
}

async function wrap<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof KairosError && err.code === 'sql_error') throw new KairosError(`${path}: ${err.message}`, 'invalid_log');
    throw err;
  }
}

/** Infers a schema from the staged rows (most common list lengths, wide column names). */
async function inferSchema(engine: SqlEngine, layout: SourceLayout, overrides: Partial<LogSchemaInput>): Promise<LogSchema> {
  const [stats] = await engine.query(`SELECT
      mode(len(t_features)) AS d,
      mode(len(t_mask_d)) AS k_mask,
      MAX(t_action) FILTER (WHERE t_action >= 0) AS max_action
    FROM kairos_typed`);
  let rewardComponents: string[] = [];
  if (layout.componentColumns) rewardComponents = layout.componentColumns.map((c) => c.name).sort();
  else if (layout.columns.includes('reward_components')) {
    const keys = await engine.query(
      `SELECT k FROM (SELECT DISTINCT unnest(map_keys(t_components)) AS k FROM kairos_typed WHERE t_components IS NOT NULL) ORDER BY k LIMIT 257`,
    );
    if (keys.length > 256) throw new KairosError('more than 256 distinct reward component names: declare them in the schema', 'invalid_log');
    rewardComponents = keys.map((r) => String(r.k));
  }
  const featureDim = layout.featureColumns ? layout.featureColumns.length : Number(stats.d ?? 0);
  const numActions = stats.k_mask !== null && stats.k_mask !== undefined ? Number(stats.k_mask) : Number(stats.max_action ?? 0) + 1;
  return parseLogSchema({
    featureDim,
    numActions: Math.max(1, numActions),
    ...(layout.featureColumns && layout.featureColumns.length ? { featureNames: [...layout.featureColumns] } : {}),
    rewardComponents,
    ...overrides,
  });
}

/** Refuses a file whose wide columns disagree with the log's schema. */
function checkLayoutAgainst(source: string, layout: SourceLayout, schema: LogSchema): void {
  if (layout.featureColumns) {
    const names = layout.featureColumns;
    if (names.length !== schema.featureDim) {
      throw new KairosError(`${source}: ${names.length} feature columns (${names.join(', ')}), the log has feature_dim ${schema.featureDim}`, 'invalid_log');
    }
    if (schema.featureNames && schema.featureNames.join('\u0000') !== names.join('\u0000')) {
      throw new KairosError(`${source}: feature columns ${names.join(', ')} differ from the log's feature names ${schema.featureNames.join(', ')}`, 'invalid_log');
    }
  }
  if (layout.componentColumns) {
    const names = layout.componentColumns.map((c) => c.name).sort();
    const declared = [...schema.rewardComponents].sort();
    if (names.join('\u0000') !== declared.join('\u0000')) {
      throw new KairosError(`${source}: reward component columns ${names.join(', ')} differ from the log's components ${declared.join(', ') || '(none)'}`, 'invalid_log');
    }
  }
}

/** Writes the `kairos_issues` table (plus rows skipped with their episode) to a report file. */
async function writeReport(engine: SqlEngine, path: string, mode: ImportMode, skipEpisodes: boolean): Promise<void> {
  const format = extname(path).toLowerCase() === '.csv' ? "FORMAT csv, HEADER true" : 'FORMAT json';
  const action = mode === 'skip' ? 'skipped' : 'rejected';
  const withEpisodes = skipEpisodes
    ? `UNION ALL
      SELECT t.t_row, t.t_mdp_id, t.t_seq, '(episode)', t.t_mdp_id,
        'an episode with no invalid rows (row ' || CAST(b.first_bad AS VARCHAR) || ' of it is invalid)'
      FROM kairos_typed t JOIN (SELECT mdp_id, MIN(row) AS first_bad FROM kairos_issues WHERE mdp_id IS NOT NULL GROUP BY mdp_id) b
        ON t.t_mdp_id = b.mdp_id
      WHERE t.t_row NOT IN (SELECT row FROM kairos_issues)`
    : '';
  const tmp = `${path}.tmp-${process.pid}`;
  await engine.execute(`COPY (
      SELECT row, mdp_id, seq AS sequence_number, field, value, expected, ${sqlString(action)} AS action FROM (
        SELECT row, mdp_id, seq, field, value, expected FROM kairos_issues ${withEpisodes}
      ) ORDER BY row, field
    ) TO ${sqlString(tmp)} (${format})`);
  renameSync(tmp, path);
}

async function runImport(store: LogStore, path: string, options: ImportOptions, write: boolean): Promise<ImportResult> {
  const format = detectFormat(path, options.format);
  const mode = options.mode ?? 'reject';
  if (mode !== 'reject' && mode !== 'skip') throw new KairosError(`mode: expected reject or skip, received ${JSON.stringify(mode)}`, 'invalid_option');
  const engine = store.engine;
  try {
    const layout = await stageFile(engine, path, format, options.featureColumns);
    await buildTypedTable(engine, layout, 'kairos_staged');
    const schemaInferred = store.schema === null;
    let schema: LogSchema;
    if (store.schema) {
      schema = store.schema;
      const overrides = options.schema ?? {};
      for (const [key, value] of Object.entries(overrides)) {
        if (value !== undefined && JSON.stringify((schema as Record<string, unknown>)[key]) !== JSON.stringify(value)) {
          throw new KairosError(`${path}: ${key} ${JSON.stringify(value)} differs from the log's ${JSON.stringify((schema as Record<string, unknown>)[key])}`, 'invalid_option');
        }
      }
    } else {
      schema = await inferSchema(engine, layout, options.schema ?? {});
    }
    checkLayoutAgainst(path, layout, schema);
    const summary: ValidationSummary = await collectIssues(engine, layout, schema, DECISIONS_TABLE, options.maxIssues ?? 20);
    if (options.reportPath) await writeReport(engine, options.reportPath, mode, mode === 'skip');
    const base = {
      source: path,
      format,
      mode,
      rowsRead: summary.rows,
      badRows: summary.badRows,
      issueCount: summary.issueCount,
      issues: summary.issues,
      ...(options.reportPath ? { reportPath: options.reportPath } : {}),
      schema,
      schemaInferred,
    };
    if (mode === 'reject' && summary.issueCount > 0) {
      if (!write) return { ...base, imported: 0, skipped: summary.rows };
      throw new LogValidationError(path, summary, ', nothing imported (mode reject; mode skip imports the valid episodes)');
    }
    const good = `t_row NOT IN (SELECT row FROM kairos_issues)
      AND t_mdp_id NOT IN (SELECT mdp_id FROM kairos_issues WHERE mdp_id IS NOT NULL)`;
    const [{ n }] = await engine.query(`SELECT COUNT(*) AS n FROM kairos_typed WHERE ${good}`);
    const imported = Number(n);
    if (write) {
      await engine.execute('BEGIN TRANSACTION');
      try {
        await engine.execute(`INSERT INTO ${DECISIONS_TABLE}
          SELECT t_mdp_id, t_seq, t_timestamp, t_features, t_action, t_propensity, CAST(t_mask_d AS TINYINT[]), t_reward,
            CASE WHEN cardinality(t_components) > 0 THEN t_components END, t_terminal
          FROM kairos_typed WHERE ${good} ORDER BY t_row`);
        if (schemaInferred) await store.setSchema(schema);
        await engine.execute('COMMIT');
      } catch (err) {
        await engine.execute('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return { ...base, imported: write ? imported : 0, skipped: summary.rows - imported };
  } finally {
    await dropTemp(engine);
  }
}

/**
 * Imports a CSV, Parquet or JSON-lines file into the log, validating every row first. A log
 * without a schema takes the one inferred from the file (feature_dim and num_actions from the
 * most common list lengths, or the largest action + 1; names from wide columns), with
 * `options.schema` overriding.
 */
export async function importLog(store: LogStore, path: string, options: ImportOptions = {}): Promise<ImportResult> {
  return runImport(store, path, options, true);
}

/**
 * Validates a file as {@link importLog} would, without writing anything: the result's
 * `badRows`, `issues` and (with `reportPath`) the report file say what an import would
 * reject or skip.
 */
export async function validateFile(store: LogStore, path: string, options: ImportOptions = {}): Promise<ImportResult> {
  return runImport(store, path, options, false);
}

/** Options of {@link exportLog}. */
export interface ExportOptions {
  format?: LogFormat;
}

/**
 * Writes the log to CSV, Parquet or JSON lines with COPY, in stored order (written to a
 * temporary name, then renamed). CSV holds lists as `[0.1, 2.0]` and maps as `{revenue=1.5}`,
 * which the CSV importer reads back; JSON lines hold arrays and objects.
 */
export async function exportLog(store: LogStore, path: string, options: ExportOptions = {}): Promise<{ rows: number; path: string }> {
  const format = detectFormat(path, options.format);
  const spec = format === 'csv' ? 'FORMAT csv, HEADER true' : format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await store.engine.execute(`COPY (SELECT * FROM ${DECISIONS_TABLE}) TO ${sqlString(tmp)} (${spec})`);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { rows: await store.count(), path };
}
