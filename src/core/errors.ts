/**
 * Errors Kairos throws on bad input. Each names what was wrong, where, and what was
 * expected, so the CLI can print one line and a library user can branch on `code`.
 *
 * @example
 * try { make('CartPol-v1'); } catch (e) { if (e instanceof KairosError) console.error(e.message); }
 */
import type { z } from 'zod';

/** Base class for every error Kairos raises on purpose. */
export class KairosError extends Error {
  constructor(
    message: string,
    /** Stable machine-readable code, e.g. `unknown_env`, `invalid_action`. */
    readonly code: string = 'kairos_error',
  ) {
    super(message);
    this.name = 'KairosError';
  }
}

/** A value failed validation: carries the path, what was expected and what was received. */
export class ValidationError extends KairosError {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly received: unknown,
    context?: string,
  ) {
    super(
      `${context ? `${context}: ` : ''}${path || '(root)'}: expected ${expected}, received ${describeValue(received)}`,
      'validation_error',
    );
    this.name = 'ValidationError';
  }
}

/** Short, bounded description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = Array.from(value as unknown as ArrayLike<number>).slice(0, 8);
    const more = (value as unknown as ArrayLike<number>).length > 8 ? ', ...' : '';
    return `${value.constructor.name}[${arr.join(', ')}${more}]`;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}

/**
 * Parses `input` with a zod schema and throws a {@link ValidationError} naming the first
 * bad field (path, expected, received) instead of zod's multi-line report.
 *
 * @example
 * const cfg = parseWith(MyConfig, userJson, 'dqn config');
 */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, context?: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.map(String).join('.');
  const received = path === '' ? input : getPath(input, issue.path);
  throw new ValidationError(path, issueExpectation(issue), received, context);
}

function issueExpectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'too_small':
      return `${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `no unknown keys (got ${issue.keys.join(', ')})`;
    default:
      return issue.message;
  }
}

function getPath(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
