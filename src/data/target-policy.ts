/**
 * The policy being evaluated, as the log readers see it: something that gives π(a | row) for
 * every action, for a batch of logged rows at a time.
 *
 * Batch-shaped (rather than one row per call) so a neural policy runs one forward pass per
 * batch, and possibly async so it may call a tensor backend or a service. Kairos ships table
 * policies (per logged row, or per discrete state) read from JSON or CSV, a uniform policy and
 * an adapter from the row-wise `PolicyFunction` of `kairos/ope` (which `softmaxPolicyFromQ`
 * returns). An agent plugs in by implementing {@link TargetPolicy} over its action
 * probabilities or Q-values.
 *
 * Not to be confused with the `TargetPolicy` type of `kairos/ope` (an in-memory table or a
 * row function, used once the data is in memory): this one works on rows as they stream
 * out of the log.
 *
 * Probability table files (`loadPolicyTable`):
 *
 * - JSON, per logged row: `{ "rows": [{ "mdp_id": "u1", "sequence_number": 0, "probabilities": [0.2, 0.8] }, ...] }`
 * - JSON, per state: `{ "states": { "0": [0.5, 0.5], "1,0.5": [0.1, 0.9] }, "default": [0.5, 0.5] }`;
 *   the key is the state's features joined by commas (compared in single precision), and
 *   `default` (optional) covers states not listed.
 * - CSV, per logged row: header `mdp_id,sequence_number,p0,p1,...` (one `p<a>` column per action).
 * - CSV, per state: header `state,p0,p1,...`; the state cell is quoted when it has commas
 *   (`"1,0.5"`), and a `*` row is the default.
 *
 * Every probability row has numActions entries in [0, 1] summing to 1 (± 1e-6); a row giving
 * probability to an action the log masks out is an error when the data is read.
 *
 * @example
 * const policy = await loadPolicyTable('target.json');
 * const data = await readBanditData(store, policy);
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { KairosError, ValidationError } from '../core/errors.js';
import type { PolicyFunction } from '../ope/types.js';

/** Logged rows handed to a {@link TargetPolicy}: n rows, views valid during the call only. */
export interface PolicyBatch {
  readonly n: number;
  readonly featureDim: number;
  readonly numActions: number;
  readonly mdpIds: readonly string[];
  readonly sequenceNumbers: Int32Array;
  /** n × featureDim */
  readonly features: Float32Array;
  /** n × numActions (1 = allowed), or null when the log has no masks. */
  readonly masks: Uint8Array | null;
}

/**
 * A policy to evaluate on logged rows.
 *
 * @example
 * const greedy: TargetPolicy = {
 *   name: 'greedy-q', numActions: 3,
 *   probabilities(batch, out) {
 *     const q = model.predict(batch.features, batch.n);          // n × K
 *     softmaxPolicyRows(q, 0, batch.masks, out);                  // your code
 *   },
 * };
 */
export interface TargetPolicy {
  /** Shown in reports. */
  readonly name: string;
  readonly numActions: number;
  /** Writes π(a | row i) into `out[i * numActions + a]` for every row of the batch (out is zeroed). */
  probabilities(batch: PolicyBatch, out: Float64Array): void | Promise<void>;
}

/** Uniform over the allowed actions. */
export function uniformTargetPolicy(numActions: number): TargetPolicy {
  return {
    name: 'uniform',
    numActions,
    probabilities(batch, out) {
      const k = numActions;
      for (let i = 0; i < batch.n; i++) {
        let m = 0;
        for (let a = 0; a < k; a++) m += batch.masks ? batch.masks[i * k + a] : 1;
        for (let a = 0; a < k; a++) out[i * k + a] = (batch.masks ? batch.masks[i * k + a] : 1) / m;
      }
    },
  };
}

/**
 * Wraps a row-wise `PolicyFunction` (from `kairos/ope`, e.g. `softmaxPolicyFromQ(qFn, τ)`).
 *
 * @example
 * const policy = policyFromFunction('softmax-q', 4, softmaxPolicyFromQ((x) => q(x), 0.5));
 */
export function policyFromFunction(name: string, numActions: number, fn: PolicyFunction): TargetPolicy {
  const scratch = new Float64Array(numActions);
  return {
    name,
    numActions,
    probabilities(batch, out) {
      const d = batch.featureDim;
      const k = numActions;
      for (let i = 0; i < batch.n; i++) {
        scratch.fill(0);
        const p = fn(batch.features.subarray(i * d, (i + 1) * d), batch.masks ? batch.masks.subarray(i * k, (i + 1) * k) : undefined, scratch);
        if (p.length !== k) throw new ValidationError(`${name}(row ${i})`, `${k} probabilities`, p.length, 'target policy');
        for (let a = 0; a < k; a++) out[i * k + a] = p[a];
      }
    },
  };
}

const TOLERANCE = 1e-6;

function checkProbs(values: unknown, k: number | undefined, where: string, source: string): Float64Array {
  if (!Array.isArray(values)) throw new ValidationError(where, 'a list of probabilities', values, source);
  if (k !== undefined && values.length !== k) throw new ValidationError(where, `${k} probabilities (numActions)`, values, source);
  let sum = 0;
  for (let a = 0; a < values.length; a++) {
    const v = values[a];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ValidationError(`${where}[${a}]`, 'a probability in [0, 1]', v, source);
    sum += v;
  }
  if (values.length === 0 || Math.abs(sum - 1) > TOLERANCE) {
    throw new ValidationError(where, `probabilities summing to 1 ± ${TOLERANCE} (sum ${sum})`, values, source);
  }
  return Float64Array.from(values as number[]);
}

/** Canonical state key: each value rounded to single precision (as features are stored), joined by commas. */
export function stateKey(values: ArrayLike<number>): string {
  let s = '';
  for (let j = 0; j < values.length; j++) s += (j ? ',' : '') + String(Math.fround(values[j]));
  return s;
}

function parseStateKey(key: string, where: string, source: string): string {
  if (key.trim() === '') return '';
  const parts = key.split(',').map((x) => Number(x.trim()));
  parts.forEach((x, j) => {
    if (!Number.isFinite(x)) throw new ValidationError(where, 'a state key of comma-separated numbers', key, `${source} (part ${j})`);
  });
  return stateKey(parts);
}

const rowKey = (mdpId: string, seq: number) => `${mdpId}\u0000${seq}`;

/**
 * A policy given per logged row (mdp_id, sequence_number). Rows missing from the table are an
 * error naming them.
 */
export function rowTablePolicy(name: string, numActions: number, table: Map<string, Float64Array>): TargetPolicy {
  return {
    name,
    numActions,
    probabilities(batch, out) {
      for (let i = 0; i < batch.n; i++) {
        const p = table.get(rowKey(batch.mdpIds[i], batch.sequenceNumbers[i]));
        if (!p) {
          throw new KairosError(
            `target policy ${name}: no probabilities for mdp_id ${JSON.stringify(batch.mdpIds[i])}, sequence_number ${batch.sequenceNumbers[i]}`,
            'policy_missing_row',
          );
        }
        out.set(p, i * numActions);
      }
    },
  };
}

/** A policy given per discrete state (the feature vector as a key), with an optional default. */
export function stateTablePolicy(name: string, numActions: number, table: Map<string, Float64Array>, fallback?: Float64Array): TargetPolicy {
  return {
    name,
    numActions,
    probabilities(batch, out) {
      const d = batch.featureDim;
      for (let i = 0; i < batch.n; i++) {
        const key = stateKey(batch.features.subarray(i * d, (i + 1) * d));
        const p = table.get(key) ?? fallback;
        if (!p) {
          throw new KairosError(
            `target policy ${name}: no probabilities for state [${key}] (mdp_id ${JSON.stringify(batch.mdpIds[i])}, sequence_number ${batch.sequenceNumbers[i]}) and no default`,
            'policy_missing_state',
          );
        }
        out.set(p, i * numActions);
      }
    },
  };
}

/** Splits one CSV line (RFC 4180 quotes; no line breaks inside fields). */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(cur);
      cur = '';
    } else cur += ch;
  }
  fields.push(cur);
  return fields;
}

function probColumns(header: string[], source: string): number[] {
  const found: Array<[number, number]> = [];
  header.forEach((h, i) => {
    const m = /^p(\d+)$/.exec(h.trim());
    if (m) found.push([Number(m[1]), i]);
  });
  found.sort((a, b) => a[0] - b[0]);
  found.forEach(([a], j) => {
    if (a !== j) throw new KairosError(`${source}: probability columns must be p0, p1, ..., p<K-1>; p${j} is missing`, 'invalid_policy');
  });
  if (found.length === 0) throw new KairosError(`${source}: no probability columns (p0, p1, ...) in the header`, 'invalid_policy');
  return found.map(([, i]) => i);
}

/** Parses a probability table from JSON or CSV text (see the module comment for the formats). */
export function parsePolicyTable(text: string, format: 'json' | 'csv', source: string): TargetPolicy {
  const name = source;
  if (format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new KairosError(`${source}: not valid JSON (${(err as Error).message})`, 'invalid_policy');
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new KairosError(`${source}: expected a JSON object with "rows" or "states"`, 'invalid_policy');
    }
    const obj = doc as Record<string, unknown>;
    let k = obj.numActions === undefined ? undefined : (obj.numActions as number);
    if (k !== undefined && (!Number.isInteger(k) || k < 1)) throw new ValidationError('numActions', 'an integer >= 1', k, source);
    if (Array.isArray(obj.rows)) {
      const table = new Map<string, Float64Array>();
      obj.rows.forEach((row: unknown, i: number) => {
        const r = row as Record<string, unknown>;
        if (r === null || typeof r !== 'object') throw new ValidationError(`rows[${i}]`, 'an object', row, source);
        if (typeof r.mdp_id !== 'string' || r.mdp_id === '') throw new ValidationError(`rows[${i}].mdp_id`, 'a non-empty string', r.mdp_id, source);
        if (!Number.isInteger(r.sequence_number)) throw new ValidationError(`rows[${i}].sequence_number`, 'an integer', r.sequence_number, source);
        const p = checkProbs(r.probabilities, k, `rows[${i}].probabilities`, source);
        k ??= p.length;
        const key = rowKey(r.mdp_id, r.sequence_number as number);
        if (table.has(key)) throw new ValidationError(`rows[${i}]`, 'one entry per (mdp_id, sequence_number)', `${r.mdp_id}/${r.sequence_number}`, source);
        table.set(key, p);
      });
      if (k === undefined) throw new KairosError(`${source}: "rows" is empty`, 'invalid_policy');
      return rowTablePolicy(name, k, table);
    }
    if (obj.states !== null && typeof obj.states === 'object' && !Array.isArray(obj.states)) {
      const table = new Map<string, Float64Array>();
      for (const [key, probs] of Object.entries(obj.states as Record<string, unknown>)) {
        const p = checkProbs(probs, k, `states[${JSON.stringify(key)}]`, source);
        k ??= p.length;
        table.set(parseStateKey(key, `states[${JSON.stringify(key)}]`, source), p);
      }
      const fallback = obj.default === undefined ? undefined : checkProbs(obj.default, k, 'default', source);
      k ??= fallback?.length;
      if (k === undefined) throw new KairosError(`${source}: "states" is empty and there is no default`, 'invalid_policy');
      return stateTablePolicy(name, k, table, fallback);
    }
    throw new KairosError(`${source}: expected a JSON object with "rows" (per logged row) or "states" (per state)`, 'invalid_policy');
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new KairosError(`${source}: empty file`, 'invalid_policy');
  const header = splitCsvLine(lines[0].replace(/^\uFEFF/, '')).map((h) => h.trim());
  const pCols = probColumns(header, source);
  const k = pCols.length;
  const probsOf = (fields: string[], line: number) =>
    checkProbs(
      pCols.map((c) => {
        const s = (fields[c] ?? '').trim();
        return s === '' ? NaN : Number(s);
      }),
      k,
      `line ${line}`,
      source,
    );
  if (header.includes('mdp_id') && header.includes('sequence_number')) {
    const im = header.indexOf('mdp_id');
    const is = header.indexOf('sequence_number');
    const table = new Map<string, Float64Array>();
    for (let l = 1; l < lines.length; l++) {
      const f = splitCsvLine(lines[l]);
      const id = (f[im] ?? '').trim();
      const seq = Number((f[is] ?? '').trim());
      if (id === '') throw new ValidationError(`line ${l + 1}: mdp_id`, 'a non-empty id', f[im], source);
      if (!Number.isInteger(seq)) throw new ValidationError(`line ${l + 1}: sequence_number`, 'an integer', f[is], source);
      const key = rowKey(id, seq);
      if (table.has(key)) throw new ValidationError(`line ${l + 1}`, 'one line per (mdp_id, sequence_number)', `${id}/${seq}`, source);
      table.set(key, probsOf(f, l + 1));
    }
    return rowTablePolicy(name, k, table);
  }
  if (header.includes('state')) {
    const ist = header.indexOf('state');
    const table = new Map<string, Float64Array>();
    let fallback: Float64Array | undefined;
    for (let l = 1; l < lines.length; l++) {
      const f = splitCsvLine(lines[l]);
      const key = (f[ist] ?? '').trim();
      const p = probsOf(f, l + 1);
      if (key === '*') fallback = p;
      else table.set(parseStateKey(key, `line ${l + 1}: state`, source), p);
    }
    return stateTablePolicy(name, k, table, fallback);
  }
  throw new KairosError(`${source}: the header needs mdp_id and sequence_number (per row) or state (per state), then p0, p1, ...`, 'invalid_policy');
}

/**
 * Reads a probability table from a .json or .csv file.
 *
 * @example
 * const policy = loadPolicyTable('new-policy.csv'); // state,p0,p1
 */
export function loadPolicyTable(path: string): TargetPolicy {
  const ext = extname(path).toLowerCase();
  if (ext !== '.json' && ext !== '.csv') {
    throw new KairosError(`${path}: a target policy table is a .json or .csv file (see docs/data.md)`, 'invalid_policy');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KairosError(`cannot read ${path}: ${(err as Error).message}`, 'invalid_policy');
  }
  return parsePolicyTable(text, ext === '.json' ? 'json' : 'csv', path);
}
