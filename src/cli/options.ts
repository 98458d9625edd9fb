/** Parsers for CLI option values; each failure names the option, the value and what was expected. */
import { z } from 'zod';
import { KairosError, parseWith } from '../core/errors.js';

/** Parses `--options '{"continuous": true}'` into an object. */
export function parseJsonObject(text: string | undefined, option: string): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KairosError(`${option}: expected a JSON object such as '{"continuous": true}', received ${JSON.stringify(text)}`, 'invalid_option');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KairosError(`${option}: expected a JSON object, received ${text}`, 'invalid_option');
  }
  return value as Record<string, unknown>;
}

/** Integer option parser for commander: `--episodes 10`. */
export function intOption(name: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new KairosError(`--${name}: expected an integer >= ${min}, received ${JSON.stringify(value)}`, 'invalid_option');
    }
    return n;
  };
}

/** Validates parsed options of a command with a zod schema (errors name the option). */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown, command: string): z.output<T> {
  return parseWith(schema, input, `kairos ${command}`);
}
