/**
 * The in-process decision writer: what a simulator loop or the HTTP decision service calls
 * once per decision. `append` is synchronous and cheap (a check and a push); rows reach DuckDB
 * a chunk (2048 rows) at a time and are committed every `batchRows` rows and on `close`.
 *
 * Besides the per-row schema check, the writer follows each open episode it has seen in this
 * session: a sequence number must be the previous one + 1 (or larger, when the schema allows
 * gaps), and nothing may follow a terminal step. An episode's record is dropped at its
 * terminal step so memory stays proportional to the open episodes; rows arriving for an
 * episode this writer has not seen are checked against the stored table only by
 * `validateStore`.
 *
 * A rejected row throws a ValidationError and leaves the writer as it was.
 *
 * @example
 * const writer = await store.writer({ batchRows: 10_000 });
 * for (const d of decisions) writer.append(d);
 * await writer.close(); // flushes
 */
import {
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  FLOAT,
  INTEGER,
  LIST,
  MAP,
  TIMESTAMP,
  TINYINT,
  VARCHAR,
  listValue,
  mapValue,
  timestampValue,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { KairosError, ValidationError } from '../core/errors.js';
import { checkDecision, type Decision, type LogSchema } from './schema.js';

/** Options of the writer. */
export interface WriterOptions {
  /** Commit to the file every this many rows (default 10 000). Rows are invisible to readers until committed. */
  batchRows?: number;
}

interface OpenEpisode {
  last: number;
}

/** Batched writer returned by `LogStore.writer`. Not safe to share between worker threads. */
export class DecisionWriter {
  private pending: Decision[] = [];
  private sinceCommit = 0;
  private written = 0;
  private closed = false;
  private readonly open = new Map<string, OpenEpisode>();
  private readonly batchRows: number;

  constructor(
    private readonly appender: DuckDBAppender,
    private readonly schema: LogSchema,
    options: WriterOptions = {},
  ) {
    const batchRows = options.batchRows ?? 10_000;
    if (!Number.isInteger(batchRows) || batchRows < 1) throw new ValidationError('batchRows', 'an integer >= 1', batchRows, 'writer');
    this.batchRows = batchRows;
  }

  /** Rows accepted so far (committed or pending). */
  get rowCount(): number {
    return this.written + this.pending.length;
  }

  /** Checks and buffers one decision; throws a ValidationError (and keeps nothing) if it is invalid. */
  append(decision: Decision): void {
    if (this.closed) throw new KairosError('append on a closed writer', 'writer_closed');
    const context = `writer: decision ${this.rowCount + 1}`;
    checkDecision(decision, this.schema, context);
    const ep = this.open.get(decision.mdpId);
    if (ep) {
      const seq = decision.sequenceNumber;
      const ok = this.schema.allowGaps ? seq > ep.last : seq === ep.last + 1;
      if (!ok) {
        const expected = this.schema.allowGaps ? `a sequence number > ${ep.last}` : `${ep.last + 1}`;
        throw new ValidationError(
          'sequenceNumber',
          `${expected} (the previous step of episode ${JSON.stringify(decision.mdpId)} is ${ep.last})`,
          seq,
          context,
        );
      }
    }
    // Copy what the caller may reuse (simulators often refill one feature buffer).
    this.pending.push({
      ...decision,
      features: Float32Array.from(decision.features),
      possibleActions: decision.possibleActions ? Uint8Array.from(decision.possibleActions) : null,
    });
    if (decision.terminal) this.open.delete(decision.mdpId);
    else if (ep) ep.last = decision.sequenceNumber;
    else this.open.set(decision.mdpId, { last: decision.sequenceNumber });
    if (this.pending.length >= CHUNK_ROWS || this.sinceCommit + this.pending.length >= this.batchRows) this.appendPending();
    if (this.sinceCommit >= this.batchRows) this.commit();
  }

  /**
   * Forgets an open episode (its sequence check), for episodes whose end is learnt outside the
   * log (a served decision whose terminal reward arrives later). Later rows of that mdp_id are
   * then accepted as a new stretch, so call it only once the episode is really over.
   *
   * @example
   * writer.endEpisode('user-17'); // after the client reported the episode's terminal reward
   */
  endEpisode(mdpId: string): boolean {
    return this.open.delete(mdpId);
  }

  /** Episodes with rows but no terminal row yet (kept for the sequence check). */
  get openEpisodes(): number {
    return this.open.size;
  }

  /** Sends buffered rows to DuckDB and commits them. */
  async flush(): Promise<void> {
    if (this.closed) return;
    this.appendPending();
    this.commit();
  }

  /** Flushes and closes the writer (the store stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.appender.closeSync();
  }

  private appendPending(): void {
    if (this.pending.length === 0) return;
    this.appender.appendDataChunk(buildChunk(this.pending, 0, this.pending.length));
    this.sinceCommit += this.pending.length;
    this.written += this.pending.length;
    this.pending = [];
  }

  private commit(): void {
    if (this.sinceCommit === 0) return;
    this.appender.flushSync();
    this.sinceCommit = 0;
  }
}

/** Rows per DuckDB data chunk (DuckDB's standard vector size). */
export const CHUNK_ROWS = 2048;

/** The `decisions` columns' types, in table order (see DECISIONS_DDL). */
const COLUMN_TYPES: DuckDBType[] = [
  VARCHAR,
  INTEGER,
  TIMESTAMP,
  LIST(FLOAT),
  INTEGER,
  DOUBLE,
  LIST(TINYINT),
  DOUBLE,
  MAP(VARCHAR, DOUBLE),
  BOOLEAN,
];

/** Builds one DuckDB data chunk from rows[from..to) (at most {@link CHUNK_ROWS}). */
export function buildChunk(rows: readonly Decision[], from: number, to: number): DuckDBDataChunk {
  const n = to - from;
  const cols: DuckDBValue[][] = COLUMN_TYPES.map(() => new Array<DuckDBValue>(n));
  for (let r = 0; r < n; r++) {
    const d = rows[from + r];
    cols[0][r] = d.mdpId;
    cols[1][r] = d.sequenceNumber;
    const ts = d.timestamp;
    cols[2][r] =
      ts === undefined || ts === null ? null : timestampValue(BigInt(Math.round((ts instanceof Date ? ts.getTime() : ts) * 1000)));
    cols[3][r] = listValue(Array.from(d.features, Math.fround));
    cols[4][r] = d.action;
    cols[5][r] = d.actionProbability;
    cols[6][r] = d.possibleActions ? listValue(Array.from(d.possibleActions)) : null;
    cols[7][r] = d.reward;
    // An empty object is "no components", stored as NULL like an import stores it.
    cols[8][r] = d.rewardComponents && Object.keys(d.rewardComponents).length > 0
      ? mapValue(Object.keys(d.rewardComponents).sort().map((key) => ({ key, value: d.rewardComponents![key] })))
      : null;
    cols[9][r] = d.terminal;
  }
  const chunk = DuckDBDataChunk.create(COLUMN_TYPES, n);
  chunk.setColumns(cols);
  return chunk;
}
