/**
 * The logged-decision schema: one row per decision a policy took, with the probability it
 * took it with. This is the input of the timeline (training transitions) and of off-policy
 * evaluation.
 *
 * Table `decisions` (column: SQL type, meaning):
 *
 * | column | type | meaning |
 * | --- | --- | --- |
 * | mdp_id | VARCHAR NOT NULL | episode id (a user session, a page view); a bandit log has one row per id |
 * | sequence_number | INTEGER NOT NULL | position in the episode; consecutive unless the schema allows gaps |
 * | timestamp | TIMESTAMP | when the decision was taken (optional, not used by the timeline) |
 * | state_features | FLOAT[] NOT NULL | the state, exactly `featureDim` values |
 * | action | INTEGER NOT NULL | the logged action, 0 .. numActions − 1 |
 * | action_probability | DOUBLE NOT NULL | the logging policy's probability of that action, in (0, 1] |
 * | possible_actions | TINYINT[] | mask of `numActions` 0/1 values (1 = allowed); NULL = every action allowed |
 * | reward | DOUBLE NOT NULL | the scalar reward |
 * | reward_components | MAP(VARCHAR, DOUBLE) | optional named rewards (revenue, engagement, ...) |
 * | terminal | BOOLEAN NOT NULL | true on the step after which the episode ended |
 *
 * The mask is a fixed-length 0/1 list rather than a list of allowed ids because it maps
 * one-to-one onto the n × K `Uint8Array` masks agents and estimators take, its validity is a
 * length check, and "possible next actions" in the timeline is then just the next row's mask.
 *
 * Continuous actions (not stored yet) would extend the schema with `action_vector FLOAT[]`
 * (length `actionDim`) in place of `action`, `action_probability` holding the logging density
 * at that action, and bounds in the metadata in place of `possible_actions`.
 *
 * The table's DDL is fixed (lists are variable-length in SQL); what varies between logs
 * (`featureDim`, `numActions`, names) lives in {@link LogSchema}, stored as JSON in the
 * `kairos_log_metadata` key/value table.
 *
 * @example
 * const schema = parseLogSchema({ featureDim: 3, numActions: 2, featureNames: ['age', 'hour', 'clicks'] });
 */
import { z } from 'zod';
import { parseWith, ValidationError } from '../core/errors.js';

/** Name of the decision table. */
export const DECISIONS_TABLE = 'decisions';
/** Name of the key/value metadata table. */
export const METADATA_TABLE = 'kairos_log_metadata';
/** Version of the stored layout; bumped on incompatible changes. */
export const LOG_FORMAT_VERSION = 1;

/** The decision table's columns, in table order. */
export const DECISION_COLUMNS = [
  'mdp_id',
  'sequence_number',
  'timestamp',
  'state_features',
  'action',
  'action_probability',
  'possible_actions',
  'reward',
  'reward_components',
  'terminal',
] as const;
export type DecisionColumn = (typeof DECISION_COLUMNS)[number];

/** DuckDB DDL of the two tables (the engine-specific part; the queries over them are portable). */
export const DECISIONS_DDL = `CREATE TABLE IF NOT EXISTS ${DECISIONS_TABLE} (
  mdp_id VARCHAR NOT NULL,
  sequence_number INTEGER NOT NULL,
  timestamp TIMESTAMP,
  state_features FLOAT[] NOT NULL,
  action INTEGER NOT NULL,
  action_probability DOUBLE NOT NULL,
  possible_actions TINYINT[],
  reward DOUBLE NOT NULL,
  reward_components MAP(VARCHAR, DOUBLE),
  terminal BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS ${METADATA_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);`;

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** What varies between logs; stored in the metadata table. */
export const LogSchema = z
  .object({
    /** Length of every `state_features` list (0 for a context-free bandit). */
    featureDim: z.number().int().min(0).max(1 << 16),
    /** K: actions are 0..K−1 and masks have K entries. */
    numActions: z.number().int().min(1).max(1 << 16),
    /** Optional names of the features, in order (length featureDim). */
    featureNames: z.array(z.string().min(1)).optional(),
    /** Names of the reward components rows may carry; every row carries all of them or none. */
    rewardComponents: z.array(z.string().regex(NAME, 'a name of letters, digits, _ . -')).default([]),
    /**
     * Allow sequence numbers to skip within an episode (e.g. seconds since the session
     * started); the timeline's `time_diff` then carries the gap. Default false: a gap is an error.
     */
    allowGaps: z.boolean().default(false),
  })
  .strict();
export type LogSchema = z.output<typeof LogSchema>;
export type LogSchemaInput = z.input<typeof LogSchema>;

/** Parses and cross-checks a schema (names match featureDim, no duplicate names). */
export function parseLogSchema(input: unknown): LogSchema {
  const schema = parseWith(LogSchema, input, 'log schema');
  if (schema.featureNames && schema.featureNames.length !== schema.featureDim) {
    throw new ValidationError('featureNames', `${schema.featureDim} names (featureDim)`, schema.featureNames.length, 'log schema');
  }
  for (const [field, names] of [['featureNames', schema.featureNames ?? []], ['rewardComponents', schema.rewardComponents]] as const) {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) throw new ValidationError(field, 'distinct names', name, 'log schema');
      seen.add(name);
    }
  }
  return schema;
}

/**
 * One logged decision as a JS object (what a simulator or the HTTP service appends).
 * Field names are the camelCase of the SQL columns.
 */
export interface Decision {
  mdpId: string;
  sequenceNumber: number;
  /** Date, or milliseconds since the Unix epoch; omitted or null when unknown. */
  timestamp?: Date | number | null;
  /** featureDim numbers. */
  features: ArrayLike<number>;
  action: number;
  /** μ(action | state) under the logging policy, in (0, 1]. */
  actionProbability: number;
  /** numActions 0/1 values; omitted or null = every action allowed. */
  possibleActions?: ArrayLike<number> | null;
  reward: number;
  /** The schema's reward components, all of them, or omitted. */
  rewardComponents?: Record<string, number> | null;
  terminal: boolean;
}

const finite = z.number().refine(Number.isFinite, 'a finite number');
const numberList = z.union([z.array(finite), z.instanceof(Float32Array), z.instanceof(Float64Array)]);

/**
 * zod schema of a {@link Decision} with no log-specific checks, for HTTP bodies. Use
 * {@link checkDecision} for the full check against a {@link LogSchema} (lengths, action range,
 * mask, components).
 */
export const DecisionSchema = z
  .object({
    mdpId: z.string().min(1),
    sequenceNumber: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1),
    timestamp: z.union([z.date(), finite]).nullish(),
    features: numberList,
    action: z.number().int().min(0),
    actionProbability: z.number().gt(0).lte(1),
    possibleActions: z.union([z.array(z.union([z.literal(0), z.literal(1)])), z.instanceof(Uint8Array)]).nullish(),
    reward: finite,
    rewardComponents: z.record(z.string(), finite).nullish(),
    terminal: z.boolean(),
  })
  .strict();

/**
 * Checks one decision against the schema and throws a {@link ValidationError} naming the
 * field, the value and what was expected. Hand-written rather than a zod parse because a
 * writer may append a million rows per second and this runs on each; a property test keeps
 * it in agreement with {@link DecisionSchema}.
 *
 * @example
 * checkDecision(row, schema, 'decision 17');
 */
export function checkDecision(d: Decision, schema: LogSchema, context = 'decision'): void {
  if (d === null || typeof d !== 'object') throw new ValidationError('', 'a decision object', d, context);
  if (typeof d.mdpId !== 'string' || d.mdpId.length === 0) throw new ValidationError('mdpId', 'a non-empty string', d.mdpId, context);
  const seq = d.sequenceNumber;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < -(2 ** 31) || seq > 2 ** 31 - 1) {
    throw new ValidationError('sequenceNumber', 'a 32-bit integer', seq, context);
  }
  const ts = d.timestamp;
  if (ts !== undefined && ts !== null && !(ts instanceof Date && Number.isFinite(ts.getTime())) && !(typeof ts === 'number' && Number.isFinite(ts))) {
    throw new ValidationError('timestamp', 'a Date, epoch milliseconds or null', ts, context);
  }
  const f = d.features;
  if (f === null || typeof f !== 'object' || typeof f.length !== 'number') {
    throw new ValidationError('features', `a list of ${schema.featureDim} numbers`, f, context);
  }
  if (f.length !== schema.featureDim) throw new ValidationError('features.length', `${schema.featureDim} (featureDim)`, f.length, context);
  for (let j = 0; j < f.length; j++) {
    if (typeof f[j] !== 'number' || !Number.isFinite(f[j])) throw new ValidationError(`features[${j}]`, 'a finite number', f[j], context);
  }
  const k = schema.numActions;
  const a = d.action;
  if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= k) {
    throw new ValidationError('action', `an integer in [0, ${k})`, a, context);
  }
  const p = d.actionProbability;
  if (typeof p !== 'number' || !(p > 0 && p <= 1)) throw new ValidationError('actionProbability', 'a probability in (0, 1]', p, context);
  const mask = d.possibleActions;
  if (mask !== undefined && mask !== null) {
    if (typeof mask !== 'object' || typeof mask.length !== 'number') {
      throw new ValidationError('possibleActions', `a list of ${k} 0/1 values`, mask, context);
    }
    if (mask.length !== k) throw new ValidationError('possibleActions.length', `${k} (numActions)`, mask.length, context);
    for (let j = 0; j < k; j++) {
      if (mask[j] !== 0 && mask[j] !== 1) throw new ValidationError(`possibleActions[${j}]`, '0 or 1', mask[j], context);
    }
    if (mask[a] !== 1) throw new ValidationError('action', `an allowed action (possibleActions[${a}] is 0)`, a, context);
  }
  if (typeof d.reward !== 'number' || !Number.isFinite(d.reward)) throw new ValidationError('reward', 'a finite number', d.reward, context);
  const comps = d.rewardComponents;
  if (comps !== undefined && comps !== null) {
    if (typeof comps !== 'object') throw new ValidationError('rewardComponents', 'an object of named numbers', comps, context);
    const keys = Object.keys(comps);
    for (const key of keys) {
      if (!schema.rewardComponents.includes(key)) {
        throw new ValidationError(`rewardComponents.${key}`, `a declared component (${schema.rewardComponents.join(', ') || 'none declared'})`, comps[key], context);
      }
      if (typeof comps[key] !== 'number' || !Number.isFinite(comps[key])) {
        throw new ValidationError(`rewardComponents.${key}`, 'a finite number', comps[key], context);
      }
    }
    if (keys.length !== schema.rewardComponents.length) {
      const missing = schema.rewardComponents.find((c) => !(c in comps));
      throw new ValidationError(`rewardComponents.${missing}`, 'a finite number (every declared component, or none)', undefined, context);
    }
  }
  if (typeof d.terminal !== 'boolean') throw new ValidationError('terminal', 'true or false', d.terminal, context);
}
