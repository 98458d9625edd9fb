/** Shared helpers for the data tests: temp dirs, small logs written as CSV / JSON lines. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { LogStore, type Decision, type LogSchemaInput } from '../../src/data/index.js';

/** A temp dir removed after the file's tests. */
export function tempDir(prefix = 'kairos-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A CSV file from a header and rows of cells (quoted when needed). */
export function writeCsv(path: string, header: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  writeFileSync(path, [header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n');
  return path;
}

/** JSON lines from objects. */
export function writeJsonl(path: string, rows: Record<string, unknown>[]): string {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}

/** The canonical CSV header. */
export const HEADER = [
  'mdp_id',
  'sequence_number',
  'state_features',
  'action',
  'action_probability',
  'possible_actions',
  'reward',
  'reward_components',
  'terminal',
];

/** An in-memory store with a schema. */
export async function memoryStore(schema: LogSchemaInput): Promise<LogStore> {
  return LogStore.create(':memory:', schema);
}

/** Every stored row, in (mdp_id, sequence_number) order, as plain JS (features rounded as stored). */
export async function storedRows(store: LogStore): Promise<Record<string, unknown>[]> {
  const rows = await store.engine.query(
    `SELECT mdp_id, sequence_number, CAST(timestamp AS VARCHAR) AS timestamp, state_features, action, action_probability, possible_actions, reward,
       CAST(reward_components AS JSON) AS reward_components, terminal
     FROM decisions ORDER BY mdp_id, sequence_number`,
  );
  return rows.map((r) => ({
    ...r,
    timestamp: r.timestamp === null ? null : String(r.timestamp),
    reward_components: r.reward_components === null ? null : JSON.parse(String(r.reward_components)),
  }));
}

/** Decision → expected stored row. */
export function expectedRow(d: Decision): Record<string, unknown> {
  const comps = d.rewardComponents && Object.keys(d.rewardComponents).length ? d.rewardComponents : null;
  return {
    mdp_id: d.mdpId,
    sequence_number: d.sequenceNumber,
    state_features: Array.from(d.features, Math.fround),
    action: d.action,
    action_probability: d.actionProbability,
    possible_actions: d.possibleActions ? Array.from(d.possibleActions) : null,
    reward: d.reward,
    reward_components: comps,
    terminal: d.terminal,
  };
}
