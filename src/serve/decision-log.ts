/**
 * The decision service's log: served decisions go to a Kairos decision log (the `decisions`
 * table of `src/data`, through its `DecisionWriter`), rewards that arrive later are written
 * into the same rows, and each service session is recorded next to them.
 *
 * Rewards. The schema's `reward` and `terminal` are NOT NULL, and a reward is rarely known
 * when the action is chosen. A decision is therefore logged at once with `reward` 0 and
 * `terminal` false (true for a one-step episode whose id the service made), and
 * `POST /reward` later sets both with one `UPDATE ... FROM (VALUES ...)` per batch of
 * rewards. Every reward applied is also kept in `kairos_serve_rewards`, so "decisions whose
 * reward has arrived" is a join away (a 0 in `decisions.reward` alone does not say whether it
 * arrived).
 *
 * Sessions. `kairos_serve_sessions` holds one row per service start: model version, run
 * folder, policy mode and parameters, seed, start and stop time, decisions logged. DuckDB
 * allows one writing process per file, so sessions on one log never overlap in time and a
 * decision's `timestamp` tells which model version served it.
 *
 * Durability. `append` is synchronous (a check and a push into the writer); rows are committed
 * every `flushIntervalMs`, every `batchRows` rows and on `close`. A crash (SIGKILL, power) can
 * lose at most the rows of the last interval; SIGINT/SIGTERM lose nothing.
 *
 * DuckDB work that awaits (reward updates, the session row) must not overlap the writer's
 * appender on the same connection: it runs under {@link DecisionLog.exclusive}, and the
 * service waits for {@link DecisionLog.busy} before appending.
 *
 * @example
 * const log = await DecisionLog.open({ path: 'decisions.duckdb', featureDim: 4, numActions: 2, session });
 * log.append({ mdpId: 'u1', sequenceNumber: 0, features: obs, action: 1, actionProbability: 0.95,
 *   reward: 0, terminal: false, timestamp: Date.now() });
 * await log.reward({ mdpId: 'u1', sequenceNumber: 0, reward: 1, terminal: true }); // true: found
 * await log.close();
 */
import { KairosError } from '../core/errors.js';
import { DECISIONS_TABLE, LogStore, sqlString, type Decision, type DecisionWriter } from '../data/index.js';

/** Table of service sessions (one row per start). */
export const SERVE_SESSIONS_TABLE = 'kairos_serve_sessions';
/** Table of rewards applied to logged decisions. */
export const SERVE_REWARDS_TABLE = 'kairos_serve_rewards';

const SERVE_DDL = `CREATE TABLE IF NOT EXISTS ${SERVE_SESSIONS_TABLE} (
  session_id VARCHAR NOT NULL,
  model_version VARCHAR NOT NULL,
  run_dir VARCHAR,
  algorithm VARCHAR,
  env VARCHAR,
  policy_mode VARCHAR NOT NULL,
  temperature DOUBLE,
  epsilon DOUBLE,
  seed BIGINT,
  started_at TIMESTAMP NOT NULL,
  stopped_at TIMESTAMP,
  decisions BIGINT
);
CREATE TABLE IF NOT EXISTS ${SERVE_REWARDS_TABLE} (
  mdp_id VARCHAR NOT NULL,
  sequence_number INTEGER NOT NULL,
  reward DOUBLE NOT NULL,
  terminal BOOLEAN,
  received_at TIMESTAMP NOT NULL,
  session_id VARCHAR NOT NULL
);`;

/** What a session row records. */
export interface ServeSession {
  sessionId: string;
  modelVersion: string;
  runDir: string;
  algorithm: string;
  env: string;
  policyMode: string;
  temperature: number | null;
  epsilon: number | null;
  seed: number;
}

/** Options of {@link DecisionLog.open}. */
export interface DecisionLogOptions {
  /** DuckDB file (created if missing; `:memory:` keeps nothing). */
  path: string;
  featureDim: number;
  numActions: number;
  session: ServeSession;
  /** Commit at least every this many rows (default 10 000). */
  batchRows?: number;
  /** Commit pending rows and apply rewards at least this often (default 1000 ms; 0 = only on batchRows and close). */
  flushIntervalMs?: number;
  /**
   * Rewards wait at most this long to be applied together (default 100 ms). Each batch is one
   * UPDATE that scans `decisions` while appends wait, so fewer, larger batches are cheaper.
   */
  rewardDelayMs?: number;
  /** DuckDB worker threads (default: DuckDB's choice). */
  threads?: number;
}

/** A reward for one logged decision. */
export interface RewardUpdate {
  mdpId: string;
  sequenceNumber: number;
  reward: number;
  /** Omitted: keep the logged flag. */
  terminal?: boolean;
}

interface QueuedReward extends RewardUpdate {
  resolve(found: boolean): void;
  reject(err: unknown): void;
}

const sqlTimestamp = (ms: number) => `make_timestamp(${Math.round(ms * 1000)}::BIGINT)`;

/** Counters of a {@link DecisionLog}. */
export interface DecisionLogStats {
  /** Decisions accepted (committed or pending). */
  accepted: number;
  /** Decisions committed to the file. */
  committed: number;
  /** Rewards applied to a logged decision. */
  rewardsApplied: number;
  /** Rewards for which no logged decision was found. */
  rewardsUnmatched: number;
  /** The last flush error, or null when the last flush succeeded. */
  lastError: string | null;
}

/**
 * The service's decision log; see the module comment.
 *
 * @example
 * const log = await DecisionLog.open({ path: ':memory:', featureDim: 2, numActions: 3, session });
 * log.append({ mdpId: 'a', sequenceNumber: 0, features: [0, 1], action: 2, actionProbability: 0.5, reward: 0, terminal: true });
 * await log.close();
 */
export class DecisionLog {
  private writer: DecisionWriter;
  private running: Promise<void> | null = null;
  private rewards: QueuedReward[] = [];
  private rewardTimer: NodeJS.Timeout | null = null;
  private readonly flushTimer: NodeJS.Timeout | null;
  private committed = 0;
  private rewardsApplied = 0;
  private rewardsUnmatched = 0;
  private lastError: string | null = null;
  private closed = false;

  private constructor(
    private readonly store: LogStore,
    writer: DecisionWriter,
    private readonly session: ServeSession,
    private readonly options: DecisionLogOptions,
  ) {
    this.writer = writer;
    const every = options.flushIntervalMs ?? 1000;
    this.flushTimer = every > 0 ? setInterval(() => void this.flush().catch(() => undefined), every) : null;
    this.flushTimer?.unref();
  }

  /**
   * Opens (or creates) the log, checks its schema against the policy's sizes, records the
   * session and opens the writer.
   */
  static async open(options: DecisionLogOptions): Promise<DecisionLog> {
    const store = await LogStore.open(options.path, options.threads !== undefined ? { threads: options.threads } : {});
    try {
      const existing = store.schema;
      if (existing && (existing.featureDim !== options.featureDim || existing.numActions !== options.numActions)) {
        throw new KairosError(
          `${options.path} logs ${existing.featureDim} state features and ${existing.numActions} actions, but the policy takes ${options.featureDim} and ${options.numActions}: log to another file`,
          'store_schema_mismatch',
        );
      }
      if (!existing) await store.setSchema({ featureDim: options.featureDim, numActions: options.numActions });
      await store.engine.execute(SERVE_DDL);
      const s = options.session;
      const num = (x: number | null) => (x === null ? 'NULL' : String(x));
      await store.engine.execute(
        `INSERT INTO ${SERVE_SESSIONS_TABLE} VALUES (${sqlString(s.sessionId)}, ${sqlString(s.modelVersion)}, ${sqlString(s.runDir)}, ` +
          `${sqlString(s.algorithm)}, ${sqlString(s.env)}, ${sqlString(s.policyMode)}, ${num(s.temperature)}, ${num(s.epsilon)}, ${s.seed}, ` +
          `${sqlTimestamp(Date.now())}, NULL, 0)`,
      );
      const writer = await store.writer(options.batchRows !== undefined ? { batchRows: options.batchRows } : {});
      return new DecisionLog(store, writer, s, options);
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** Path of the DuckDB file. */
  get path(): string {
    return this.store.path;
  }

  /** A promise while DuckDB work that must not overlap an append is running, else null. */
  get busy(): Promise<void> | null {
    return this.running;
  }

  /**
   * Checks and buffers one decision (synchronous). Throws the writer's ValidationError (bad
   * row, or a sequence number that does not continue its episode) and keeps nothing.
   * Call only when {@link busy} is null.
   */
  append(decision: Decision): void {
    if (this.closed) throw new KairosError('the decision log is closed', 'log_closed');
    if (this.running) throw new KairosError('DecisionLog.append while DuckDB work is running: await log.busy first', 'log_busy');
    this.writer.append(decision);
  }

  /** Counters. */
  stats(): DecisionLogStats {
    return {
      accepted: this.writer.rowCount,
      committed: this.committed,
      rewardsApplied: this.rewardsApplied,
      rewardsUnmatched: this.rewardsUnmatched,
      lastError: this.lastError,
    };
  }

  /**
   * Queues a reward; resolves true once it is written into its decision's row, false when no
   * such decision is logged. Rewards are applied together, at most `rewardDelayMs` later.
   */
  reward(update: RewardUpdate): Promise<boolean> {
    if (this.closed) return Promise.reject(new KairosError('the decision log is closed', 'log_closed'));
    return new Promise<boolean>((resolve, reject) => {
      this.rewards.push({ ...update, resolve, reject });
      if (!this.rewardTimer) {
        this.rewardTimer = setTimeout(() => {
          this.rewardTimer = null;
          void this.flush().catch(() => undefined);
        }, this.options.rewardDelayMs ?? 100);
      }
    });
  }

  /**
   * Runs `work` with no append and no other DuckDB work overlapping it (a simple FIFO
   * mutex: each caller waits for the one before).
   */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    let done!: () => void;
    this.running = new Promise<void>((r) => (done = r));
    try {
      return await work();
    } finally {
      this.running = null;
      done();
    }
  }

  /** Commits pending decisions, then applies queued rewards. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.exclusive(async () => {
      try {
        await this.writer.flush();
        this.committed = this.writer.rowCount;
        await this.applyRewards();
        this.lastError = null;
      } catch (err) {
        // Rows stay in the writer and are retried at the next flush; the service reports it.
        this.lastError = err instanceof Error ? err.message : String(err);
        throw err;
      }
    });
  }

  private async applyRewards(): Promise<void> {
    if (this.rewards.length === 0) return;
    const queued = this.rewards;
    this.rewards = [];
    try {
      // Last reward wins when one decision gets several in the same batch.
      const byKey = new Map<string, QueuedReward>();
      for (const r of queued) byKey.set(`${r.sequenceNumber}:${r.mdpId}`, r);
      const rows = [...byKey.values()];
      const values = rows
        .map((r) => `(${sqlString(r.mdpId)}, ${r.sequenceNumber}, ${r.reward}::DOUBLE, ${r.terminal === undefined ? 'NULL' : r.terminal}::BOOLEAN)`)
        .join(', ');
      const now = sqlTimestamp(Date.now());
      const engine = this.store.engine;
      await engine.execute('BEGIN TRANSACTION');
      let matched: Record<string, unknown>[];
      try {
        matched = await engine.query(
          `UPDATE ${DECISIONS_TABLE} SET reward = v.reward, terminal = COALESCE(v.terminal, ${DECISIONS_TABLE}.terminal) ` +
            `FROM (VALUES ${values}) AS v(mdp_id, sequence_number, reward, terminal) ` +
            `WHERE ${DECISIONS_TABLE}.mdp_id = v.mdp_id AND ${DECISIONS_TABLE}.sequence_number = v.sequence_number ` +
            `RETURNING ${DECISIONS_TABLE}.mdp_id AS mdp_id, ${DECISIONS_TABLE}.sequence_number AS sequence_number`,
        );
        const found = new Set(matched.map((m) => `${Number(m.sequence_number)}:${String(m.mdp_id)}`));
        const kept = rows.filter((r) => found.has(`${r.sequenceNumber}:${r.mdpId}`));
        if (kept.length > 0) {
          await engine.execute(
            `INSERT INTO ${SERVE_REWARDS_TABLE} VALUES ${kept
              .map((r) => `(${sqlString(r.mdpId)}, ${r.sequenceNumber}, ${r.reward}::DOUBLE, ${r.terminal === undefined ? 'NULL' : r.terminal}, ${now}, ${sqlString(this.session.sessionId)})`)
              .join(', ')}`,
          );
        }
        await engine.execute('COMMIT');
      } catch (err) {
        await engine.execute('ROLLBACK').catch(() => undefined);
        throw err;
      }
      const found = new Set(matched.map((m) => `${Number(m.sequence_number)}:${String(m.mdp_id)}`));
      for (const r of queued) {
        const ok = found.has(`${r.sequenceNumber}:${r.mdpId}`);
        if (ok) this.rewardsApplied++;
        else this.rewardsUnmatched++;
        // A terminal reward closes the episode: the writer stops tracking its sequence.
        if (ok && r.terminal === true) this.writer.endEpisode(r.mdpId);
        r.resolve(ok);
      }
    } catch (err) {
      for (const r of queued) r.reject(err);
      throw err;
    }
  }

  /** Flushes everything, records the session's end and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.rewardTimer) clearTimeout(this.rewardTimer);
    this.rewardTimer = null;
    try {
      await this.flush();
      await this.exclusive(async () => {
        await this.writer.close();
        this.committed = this.writer.rowCount;
        await this.store.engine.execute(
          `UPDATE ${SERVE_SESSIONS_TABLE} SET stopped_at = ${sqlTimestamp(Date.now())}, decisions = ${this.committed} WHERE session_id = ${sqlString(this.session.sessionId)}`,
        );
      });
    } finally {
      this.closed = true;
      this.store.close();
      // Only left when the last flush failed: their requests get the error rather than hang.
      for (const r of this.rewards.splice(0)) r.reject(new KairosError('the decision log closed before this reward could be written', 'log_closed'));
    }
  }
}
