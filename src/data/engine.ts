/**
 * The SQL engine behind the decision log, kept behind one small interface so the timeline and
 * evaluation queries can run elsewhere unchanged apart from the connection.
 *
 * Kairos ships one implementation, {@link DuckDbEngine} (an embedded DuckDB file). A Trino or
 * Spark SQL adapter implements the same four members: `execute` for statements, `query` for
 * small results, `stream` for large results read chunk by chunk, and `close`; plus a
 * {@link SqlDialect} for the two things the portable queries cannot spell the same way
 * everywhere: 1-based list element access (`xs[i]` in DuckDB and Trino, `element_at(xs, i)` in
 * Spark) and map lookup with NULL for a missing key (`m[k]` in DuckDB, `element_at(m, k)` in
 * Trino and Spark). Results are read through {@link ColumnChunk}, an accessor view with no engine types
 * in it, so the code that fills typed arrays does not know which engine it reads from.
 *
 * @example
 * const engine = await DuckDbEngine.open('log.duckdb');
 * const [{ n }] = await engine.query('SELECT COUNT(*) AS n FROM decisions');
 * for await (const chunk of engine.stream('SELECT reward FROM decisions')) {
 *   const reward = chunk.column('reward');
 *   for (let i = 0; i < chunk.rowCount; i++) total += reward.number(i);
 * }
 * engine.close();
 */
import {
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBListVector,
  DuckDBMapVector,
  type DuckDBConnection,
  type DuckDBVector,
} from '@duckdb/node-api';
import { KairosError } from '../core/errors.js';

/** The engine-specific spellings the portable queries need. */
export interface SqlDialect {
  /** Engine name, for messages and docs (`duckdb`, `trino`, `spark`). */
  readonly name: string;
  /** Element `index` (1-based) of a list expression. */
  listElement(list: string, index: number): string;
  /** The value under a string key of a map expression, NULL when absent. `key` is a SQL literal. */
  mapValue(map: string, key: string): string;
}

/** DuckDB: `xs[i]` (1-based) and `m[key]` (NULL when absent). */
export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  listElement: (list, index) => `${list}[${index}]`,
  mapValue: (map, key) => `${map}[${key}]`,
};

/** Trino: `xs[i]` is 1-based; `m[key]` fails on a missing key, `element_at` gives NULL. */
export const trinoDialect: SqlDialect = {
  name: 'trino',
  listElement: (list, index) => `${list}[${index}]`,
  mapValue: (map, key) => `element_at(${map}, ${key})`,
};

/** Spark SQL: `xs[i]` is 0-based there, `element_at` is 1-based; `element_at(m, key)` for maps. */
export const sparkDialect: SqlDialect = {
  name: 'spark',
  listElement: (list, index) => `element_at(${list}, ${index})`,
  mapValue: (map, key) => `element_at(${map}, ${key})`,
};

/** One column of a {@link ColumnChunk}. Accessors take the row index within the chunk. */
export interface ChunkColumn {
  isNull(row: number): boolean;
  /** A numeric or boolean value as a number (true = 1); NaN when null. */
  number(row: number): number;
  string(row: number): string | null;
  /** Number of elements of a list value; 0 when null. */
  listLength(row: number): number;
  /**
   * Copies a list value's elements (as numbers) into `out` from `offset`, at most `max` of
   * them; returns how many it copied. Null lists copy nothing; null elements copy as NaN.
   */
  readList(row: number, out: { [i: number]: number }, offset: number, max: number): number;
  /** A map (or struct) value as string → number entries; null when the value is null. */
  entries(row: number): Array<[string, number]> | null;
}

/** A block of result rows read from a streaming query. */
export interface ColumnChunk {
  readonly rowCount: number;
  /** The column named `name`; throws a KairosError naming the columns that exist. */
  column(name: string): ChunkColumn;
}

/** What the log store, timeline and evaluation need from a SQL engine. */
export interface SqlEngine {
  readonly dialect: SqlDialect;
  /** Runs one or more statements that return nothing of interest (DDL, INSERT, COPY). */
  execute(sql: string): Promise<void>;
  /** Runs a query with a small result and returns its rows as plain objects (BIGINT → number). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs a query and yields its result in chunks; the whole result is never held in JS. */
  stream(sql: string): AsyncIterable<ColumnChunk>;
  close(): void;
}

/** Quotes a string literal for SQL (single quotes doubled). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes an identifier for SQL (double quotes doubled). Standard SQL; Spark needs ANSI mode for it. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Options of {@link DuckDbEngine.open}. */
export interface DuckDbOptions {
  /** Open read-only (several processes may read one file). */
  readOnly?: boolean;
  /** Worker threads DuckDB may use (default: all cores). */
  threads?: number;
  /** e.g. `'1GB'`: beyond it DuckDB spills sorts and windows to `tempDirectory`. */
  memoryLimit?: string;
  /** Where DuckDB spills (default: `<file>.tmp` next to the database). */
  tempDirectory?: string;
}

/**
 * DuckDB-specific error text is long and multi-line; the CLI prints one line. Keep the
 * first line and the `Line:`/`Expected ...` details CSV errors carry.
 */
export function summariseEngineError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const keep = [lines[0]];
  for (const l of lines.slice(1)) {
    if (/^(Original Line|Expected Number of Columns|LINE \d+)/.test(l)) keep.push(l);
  }
  return keep.join('; ');
}

/**
 * The embedded DuckDB engine: one database file (or `:memory:`) and one connection.
 * DuckDB allows one writing process per file; several read-only openers may share it.
 */
export class DuckDbEngine implements SqlEngine {
  readonly dialect = duckdbDialect;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** The DuckDB connection, for DuckDB-only work (the appender). */
    readonly connection: DuckDBConnection,
    readonly path: string,
  ) {}

  /** Opens (creating if needed, unless read-only) a DuckDB file or `:memory:`. */
  static async open(path: string, options: DuckDbOptions = {}): Promise<DuckDbEngine> {
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    if (options.threads !== undefined) config.threads = String(options.threads);
    if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
    if (options.tempDirectory !== undefined) config.temp_directory = options.tempDirectory;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (err) {
      throw new KairosError(`cannot open ${path}: ${summariseEngineError(err)}`, 'store_open_failed');
    }
    const connection = await instance.connect();
    return new DuckDbEngine(instance, connection, path);
  }

  private check(): void {
    if (this.closed) throw new KairosError(`the DuckDB engine for ${this.path} is closed`, 'store_closed');
  }

  async execute(sql: string): Promise<void> {
    this.check();
    try {
      await this.connection.run(sql);
    } catch (err) {
      throw new KairosError(summariseEngineError(err), 'sql_error');
    }
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    this.check();
    let rows: Record<string, unknown>[];
    try {
      rows = (await this.connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    } catch (err) {
      throw new KairosError(summariseEngineError(err), 'sql_error');
    }
    // COUNT(*) and friends are BIGINT; callers want numbers (exact below 2^53).
    for (const row of rows) {
      for (const key of Object.keys(row)) if (typeof row[key] === 'bigint') row[key] = Number(row[key]);
    }
    return rows;
  }

  async *stream(sql: string): AsyncIterable<ColumnChunk> {
    this.check();
    let result;
    try {
      result = await this.connection.stream(sql);
    } catch (err) {
      throw new KairosError(summariseEngineError(err), 'sql_error');
    }
    const names = result.columnNames();
    for (;;) {
      let chunk: DuckDBDataChunk | null;
      try {
        chunk = await result.fetchChunk();
      } catch (err) {
        throw new KairosError(summariseEngineError(err), 'sql_error');
      }
      if (!chunk || chunk.rowCount === 0) return;
      yield new DuckDbChunk(chunk, names);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** A {@link ColumnChunk} over a DuckDB data chunk; columns are decoded lazily per access. */
class DuckDbChunk implements ColumnChunk {
  private readonly columns = new Map<string, ChunkColumn>();
  /** Read once: the chunk's getter crosses into native code on every call. */
  readonly rowCount: number;

  constructor(
    private readonly chunk: DuckDBDataChunk,
    private readonly names: string[],
  ) {
    this.rowCount = chunk.rowCount;
  }

  column(name: string): ChunkColumn {
    let col = this.columns.get(name);
    if (!col) {
      const index = this.names.indexOf(name);
      if (index < 0) throw new KairosError(`no column "${name}" in the result (columns: ${this.names.join(', ')})`, 'sql_error');
      col = new DuckDbColumn(this.chunk.getColumnVector(index));
      this.columns.set(name, col);
    }
    return col;
  }
}

function toNumber(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return Number(v);
}

/** Validity of one row without materialising the value (list values would be copied). */
type RowValidity = (row: number) => boolean;

function validityOf(vector: DuckDBVector): RowValidity {
  // The vectors keep their validity mask in a private `validity` field; reading it directly
  // avoids `getItem`, which copies a whole list into a new object for list columns.
  const validity = (vector as unknown as { validity?: { itemValid?(row: number): boolean } }).validity;
  if (validity && typeof validity.itemValid === 'function') return (row) => validity.itemValid!(row);
  return (row) => vector.getItem(row) !== null;
}

type NumericItems = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array;

/** The typed array behind a numeric child vector (a private field of the vector classes), if any. */
function childItemsOf(vector: DuckDBVector): NumericItems | null {
  const items = (vector as unknown as { items?: unknown }).items;
  if (
    items instanceof Float32Array ||
    items instanceof Float64Array ||
    items instanceof Int8Array ||
    items instanceof Uint8Array ||
    items instanceof Int16Array ||
    items instanceof Int32Array
  ) {
    return items;
  }
  return null;
}

class DuckDbColumn implements ChunkColumn {
  private readonly list: DuckDBListVector | null;
  private readonly valid: RowValidity;
  private childItems: NumericItems | null | undefined;

  constructor(private readonly vector: DuckDBVector) {
    this.list = vector instanceof DuckDBListVector ? vector : null;
    this.valid = validityOf(vector);
  }

  isNull(row: number): boolean {
    return !this.valid(row);
  }

  number(row: number): number {
    return toNumber(this.vector.getItem(row));
  }

  string(row: number): string | null {
    const v = this.vector.getItem(row);
    return v === null ? null : String(v);
  }

  listLength(row: number): number {
    return this.valid(row) ? this.listVector().getEntryLength(row) : 0;
  }

  readList(row: number, out: { [i: number]: number }, offset: number, max: number): number {
    if (!this.valid(row)) return 0;
    const list = this.listVector();
    // Offsets and lengths read straight from the list's entry data: no per-row list object.
    const len = Math.min(list.getEntryLength(row), max);
    const start = list.getEntryOffset(row);
    if (this.childItems === undefined) this.childItems = childItemsOf(list.childVector);
    const items = this.childItems;
    if (items) {
      // Straight from the child vector's own typed array: several times faster than getItem
      // per element (no validity lookup, no boxing). Null elements are not distinguished
      // here; validation keeps them out of a log.
      for (let j = 0; j < len; j++) out[offset + j] = items[start + j];
      return len;
    }
    const child = list.childVector;
    for (let j = 0; j < len; j++) out[offset + j] = toNumber(child.getItem(start + j));
    return len;
  }

  entries(row: number): Array<[string, number]> | null {
    const v = this.vector.getItem(row);
    if (v === null) return null;
    if (this.vector instanceof DuckDBMapVector) {
      return (v as { entries: { key: unknown; value: unknown }[] }).entries.map((e) => [String(e.key), toNumber(e.value)]);
    }
    const obj = v as { entries?: Record<string, unknown> };
    if (obj.entries && typeof obj.entries === 'object') {
      return Object.entries(obj.entries).map(([k, x]) => [k, toNumber(x)]);
    }
    throw new KairosError(`expected a map or struct column, found ${String(this.vector.type)}`, 'sql_error');
  }

  private listVector(): DuckDBListVector {
    if (!this.list) throw new KairosError(`expected a list column, found ${String(this.vector.type)}`, 'sql_error');
    return this.list;
  }
}
