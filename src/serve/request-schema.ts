/**
 * The decision service's request bodies as zod schemas, and the errors it answers with.
 *
 * Every schema is strict (an unknown field such as `possible_actions` is an error, not
 * silently ignored) and every check carries the expectation as its message, so a failed
 * parse turns into issues that name the field (`state[2]`), the value received and what was
 * expected, e.g. `state[2]: expected a finite number, received null`. The `/act` schema is
 * built per policy: the state length and the action range come from the served model.
 *
 * @example
 * const schema = actRequestSchema(4, 2);
 * const body = parseRequestBody(schema, parseJsonBody('{"state":[0,0,0,0]}'), '/act');
 * // a bad body throws RequestError(400) with issues [{ path, expected, received }]
 */
import { z } from 'zod';
import { describeValue, KairosError } from '../core/errors.js';

/** One problem with a request body. */
export interface RequestIssue {
  /** Field path in JavaScript notation, e.g. `state[2]`; `(body)` for the whole body. */
  readonly path: string;
  readonly expected: string;
  /** Short description of the value received (`null`, `"abc"`, `[1,2,3] (3 values)`, `missing`). */
  readonly received: string;
}

/**
 * An error the service answers with: an HTTP status, a stable code and, for a bad body, the
 * issues. Its JSON form is `{ error: { code, message, issues } }` ({@link errorBody}).
 *
 * @example
 * throw new RequestError(404, 'unknown_decision', 'no logged decision "u1/3"');
 */
export class RequestError extends KairosError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly issues: readonly RequestIssue[] = [],
  ) {
    super(message, code);
    this.name = 'RequestError';
  }
}

/**
 * The JSON body of an error response.
 *
 * @example
 * res.end(JSON.stringify(errorBody(err))); // {"error":{"code":"invalid_request","message":"...","issues":[...]}}
 */
export function errorBody(err: RequestError): { error: { code: string; message: string; issues?: readonly RequestIssue[] } } {
  return { error: { code: err.code, message: err.message, ...(err.issues.length ? { issues: err.issues } : {}) } };
}

/** Largest single-precision float: states are stored and evaluated as FLOAT. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Largest mdpId accepted (characters). */
export const MAX_MDP_ID_LENGTH = 256;

const int32 = (what: string) =>
  z
    .number({ error: what })
    .int({ error: what })
    .min(-(2 ** 31), { error: what })
    .max(2 ** 31 - 1, { error: what });

const mdpIdSchema = z
  .string({ error: 'a non-empty episode id (string)' })
  .min(1, { error: 'a non-empty episode id (string)' })
  .max(MAX_MDP_ID_LENGTH, { error: `an episode id of at most ${MAX_MDP_ID_LENGTH} characters` });

/**
 * Schema of a `POST /act` body for a policy with `obsDim` state features and `numActions`
 * actions:
 *
 * - `state`: exactly `obsDim` finite numbers (the flattened observation);
 * - `possibleActions` (optional): the allowed action ids, each an integer in [0, numActions),
 *   at least one; omitted = every action allowed;
 * - `mdpId` (optional): episode id; omitted = a one-step episode with an id the service makes;
 * - `sequenceNumber` (optional, with `mdpId` only): the step in the episode, a 32-bit integer
 *   (default 0);
 * - `deterministic` (optional): greedy action with propensity 1 instead of the exploring policy.
 *
 * @example
 * actRequestSchema(4, 2).parse({ state: [0.1, 0, -0.2, 0], possibleActions: [1] });
 */
export function actRequestSchema(obsDim: number, numActions: number) {
  const actionId = `an action id: an integer in [0, ${numActions})`;
  const stateList = `a list of ${obsDim} finite numbers (the policy's observation size)`;
  return z
    .object(
      {
        state: z
          .array(
            z
              .number({ error: 'a finite number' })
              .min(-FLOAT32_MAX, { error: 'a number within single precision (|x| <= 3.4e38)' })
              .max(FLOAT32_MAX, { error: 'a number within single precision (|x| <= 3.4e38)' }),
            { error: stateList },
          )
          .length(obsDim, { error: stateList }),
        possibleActions: z
          .array(
            z.number({ error: actionId }).int({ error: actionId }).min(0, { error: actionId }).max(numActions - 1, { error: actionId }),
            { error: `a list of allowed action ids (integers in [0, ${numActions}))` },
          )
          .min(1, { error: 'at least one allowed action id' })
          .optional(),
        mdpId: mdpIdSchema.optional(),
        sequenceNumber: int32('a 32-bit integer step number').optional(),
        deterministic: z.boolean({ error: 'true or false' }).optional(),
      },
      { error: 'a JSON object' },
    )
    .strict()
    .superRefine((body, ctx) => {
      if (body.sequenceNumber !== undefined && body.mdpId === undefined) {
        ctx.addIssue({ code: 'custom', path: ['mdpId'], message: 'an episode id when sequenceNumber is given' });
      }
    });
}

/** A parsed `POST /act` body. */
export type ActRequest = z.output<ReturnType<typeof actRequestSchema>>;

/**
 * Schema of a `POST /reward` body: the decision (`decisionId` as returned by `/act`, or
 * `mdpId` + `sequenceNumber`), its `reward` (a finite number) and optionally `terminal`
 * (the episode ended after this decision; omitted = leave the logged flag).
 *
 * @example
 * RewardRequestSchema.parse({ decisionId: 'a1b2c3d4-17/0', reward: 1.5 });
 */
export const RewardRequestSchema = z
  .object(
    {
      decisionId: z.string({ error: 'a decision id as returned by /act' }).min(1, { error: 'a decision id as returned by /act' }).optional(),
      mdpId: mdpIdSchema.optional(),
      sequenceNumber: int32('a 32-bit integer step number').optional(),
      reward: z.number({ error: 'a finite number' }),
      terminal: z.boolean({ error: 'true or false' }).optional(),
    },
    { error: 'a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    const byId = body.decisionId !== undefined;
    const byKey = body.mdpId !== undefined || body.sequenceNumber !== undefined;
    if (byId && byKey) {
      ctx.addIssue({ code: 'custom', path: ['decisionId'], message: 'either decisionId or mdpId + sequenceNumber, not both' });
    } else if (!byId && (body.mdpId === undefined || body.sequenceNumber === undefined)) {
      const missing = body.mdpId === undefined && body.sequenceNumber === undefined ? 'decisionId' : body.mdpId === undefined ? 'mdpId' : 'sequenceNumber';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'the decision: decisionId, or mdpId + sequenceNumber' });
    }
  });

/** A parsed `POST /reward` body. */
export type RewardRequest = z.output<typeof RewardRequestSchema>;

/**
 * The decision id `/act` returns: `<mdpId>/<sequenceNumber>`. (mdp_id, sequence_number) is
 * the log's key, so the id needs no lookup table and stays valid across restarts.
 *
 * @example
 * decisionIdOf('user-7', 3); // 'user-7/3'
 */
export function decisionIdOf(mdpId: string, sequenceNumber: number): string {
  return `${mdpId}/${sequenceNumber}`;
}

/**
 * Splits a decision id made by {@link decisionIdOf}; the last `/` separates the step, so an
 * mdpId may itself hold slashes. Throws a 400 {@link RequestError} for anything else.
 *
 * @example
 * parseDecisionId('shop/user-7/3'); // { mdpId: 'shop/user-7', sequenceNumber: 3 }
 */
export function parseDecisionId(id: string): { mdpId: string; sequenceNumber: number } {
  const cut = id.lastIndexOf('/');
  const seqText = cut < 0 ? '' : id.slice(cut + 1);
  const seq = Number(seqText);
  if (cut <= 0 || !/^-?\d+$/.test(seqText) || !Number.isSafeInteger(seq) || seq < -(2 ** 31) || seq > 2 ** 31 - 1) {
    const issue = { path: 'decisionId', expected: 'a decision id as returned by /act ("<mdpId>/<sequenceNumber>")', received: describeValue(id) };
    throw new RequestError(400, 'invalid_request', `decisionId: expected ${issue.expected}, received ${issue.received}`, [issue]);
  }
  return { mdpId: id.slice(0, cut), sequenceNumber: seq };
}

/**
 * Parses a request body as JSON; a syntax error is a 400 naming the position.
 *
 * @example
 * parseJsonBody('{"state": [1, 2]}'); // { state: [1, 2] }
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    const issue = { path: '(body)', expected: 'a JSON object', received: 'an empty body' };
    throw new RequestError(400, 'invalid_json', '(body): expected a JSON object, received an empty body', [issue]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    const issue = { path: '(body)', expected: 'valid JSON', received: `${describeValue(text)} (${reason})` };
    throw new RequestError(400, 'invalid_json', `(body): expected valid JSON, received ${issue.received}`, [issue]);
  }
}

/** `state[2]`, `possibleActions[0]`, `(body)`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out || '(body)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: cur };
}

function describeReceived(found: boolean, value: unknown): string {
  if (!found) return 'nothing (missing)';
  const text = describeValue(value);
  return Array.isArray(value) ? `${text} (${value.length} value${value.length === 1 ? '' : 's'})` : text;
}

/**
 * The first issue per field, as {@link RequestIssue}s (at most `max`); unknown fields are
 * issues of their own.
 *
 * @example
 * const r = actRequestSchema(2, 2).safeParse({ state: [0, null] });
 * if (!r.success) requestIssues(r.error, { state: [0, null] }); // [{ path: 'state[1]', expected: 'a finite number', received: 'null' }]
 */
export function requestIssues(error: z.ZodError, input: unknown, max = 10): RequestIssue[] {
  const out: RequestIssue[] = [];
  const seen = new Set<string>();
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = formatPath([...issue.path, key]);
        const { value } = valueAt(input, [...issue.path, key]);
        out.push({ path, expected: 'no such field (unknown field)', received: describeValue(value) });
        seen.add(path);
      }
      continue;
    }
    const path = formatPath(issue.path);
    if (seen.has(path)) continue; // zod may report a failed type and then a length on the same field
    seen.add(path);
    const { found, value } = valueAt(input, issue.path);
    out.push({ path, expected: issue.message, received: describeReceived(found, value) });
  }
  return out.slice(0, max);
}

/**
 * Parses a JSON value with a request schema; a failure throws a 400 {@link RequestError}
 * whose message names the first bad field and whose issues list up to ten.
 *
 * @example
 * const body = parseRequestBody(RewardRequestSchema, json, '/reward');
 */
export function parseRequestBody<T extends z.ZodType>(schema: T, input: unknown, route: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = requestIssues(result.error, input);
  const first = issues[0] ?? { path: '(body)', expected: 'a valid request', received: describeValue(input) };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : '';
  throw new RequestError(400, 'invalid_request', `${route}: ${first.path}: expected ${first.expected}, received ${first.received}${more}`, issues);
}
