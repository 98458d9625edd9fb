/**
 * `kairos data import|export|validate|timeline`: the decision log on the command line. Each
 * subcommand parses its options and calls one function of `kairos/data`. The data library
 * (and DuckDB's native module) is loaded only when a data command runs, so other commands
 * start as fast as before.
 */
import { existsSync, rmSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { KairosError } from '../core/errors.js';
import type { ImportResult, RowIssue } from '../data/index.js';
import { intOption, parseOptions } from './options.js';

const loadData = () => import('../data/index.js');

const ImportOptionsSchema = z.object({
  data: z.string().min(1),
  format: z.enum(['csv', 'parquet', 'jsonl']).optional(),
  mode: z.enum(['reject', 'skip']),
  report: z.string().optional(),
  featureColumns: z.string().optional(),
  numActions: z.number().int().positive().optional(),
  allowGaps: z.boolean().optional(),
  maxIssues: z.number().int().nonnegative(),
  json: z.boolean().optional(),
});

const ValidateOptionsSchema = ImportOptionsSchema.omit({ data: true, mode: true }).extend({ data: z.string().optional() });

const ExportOptionsSchema = z.object({ data: z.string().min(1), format: z.enum(['csv', 'parquet', 'jsonl']).optional() });

const TimelineOptionsSchema = z.object({
  data: z.string().min(1),
  out: z.string().min(1),
  stats: z.string().optional(),
  ordered: z.boolean().optional(),
  json: z.boolean().optional(),
});

function printIssues(issues: RowIssue[], total: number, format: (i: RowIssue) => string): void {
  for (const issue of issues) console.log(`  ${format(issue)}`);
  if (total > issues.length) console.log(`  ... and ${total - issues.length} more issue(s)`);
}

function importSettings(opts: z.output<typeof ImportOptionsSchema> | z.output<typeof ValidateOptionsSchema>) {
  return {
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.report ? { reportPath: opts.report } : {}),
    ...(opts.featureColumns ? { featureColumns: opts.featureColumns.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    schema: {
      ...(opts.numActions !== undefined ? { numActions: opts.numActions } : {}),
      ...(opts.allowGaps !== undefined ? { allowGaps: opts.allowGaps } : {}),
    },
    maxIssues: opts.maxIssues,
  };
}

function describeResult(r: ImportResult, verb: string): string {
  return `${r.source}: ${r.rowsRead} rows read, ${verb} ${r.imported}, skipped ${r.skipped} (${r.badRows} invalid rows, ${r.issueCount} issues)`;
}

/** `kairos data import <file> --data log.duckdb`. */
export async function importCommand(file: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(ImportOptionsSchema, raw, 'data import');
  const data = await loadData();
  const existed = existsSync(opts.data);
  const store = await data.LogStore.open(opts.data);
  let result: ImportResult;
  try {
    result = await data.importLog(store, file, { ...importSettings(opts), mode: opts.mode });
  } catch (err) {
    store.close();
    // A failed first import leaves no empty log behind.
    if (!existed) for (const f of [opts.data, `${opts.data}.wal`]) rmSync(f, { force: true });
    throw err;
  }
  try {
    if (opts.json) {
      console.log(JSON.stringify(result));
      return 0;
    }
    console.log(describeResult(result, 'imported'));
    if (result.schemaInferred) console.log(`log schema (inferred): ${JSON.stringify(result.schema)}`);
    if (result.issueCount > 0) printIssues(result.issues, result.issueCount, data.formatIssue);
    if (result.reportPath) console.log(`report: ${result.reportPath}`);
    console.log(`${opts.data}: ${await store.count()} decisions`);
    return 0;
  } finally {
    store.close();
  }
}

/** `kairos data validate <file|log.duckdb> [--data log.duckdb]`: exit 1 when any row is invalid. */
export async function validateCommand(file: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(ValidateOptionsSchema, raw, 'data validate');
  const data = await loadData();
  if (file.endsWith('.duckdb')) {
    const store = await data.LogStore.open(file, { readOnly: true });
    try {
      const summary = await data.validateStore(store, { maxIssues: opts.maxIssues });
      if (opts.json) console.log(JSON.stringify(summary));
      else {
        console.log(`${file}: ${summary.rows} rows, ${summary.badRows} invalid (${summary.issueCount} issues)`);
        printIssues(summary.issues, summary.issueCount, data.formatIssue);
      }
      return summary.issueCount > 0 ? 1 : 0;
    } finally {
      store.close();
    }
  }
  // A file is checked against an existing log's schema (--data), or against the schema
  // inferred from the file itself in a throwaway in-memory log.
  const store = opts.data ? await data.LogStore.open(opts.data, { create: false }) : await data.LogStore.open(':memory:');
  try {
    const result = await data.validateFile(store, file, { ...importSettings(opts), mode: 'skip' });
    if (opts.json) console.log(JSON.stringify(result));
    else {
      console.log(`${file}: ${result.rowsRead} rows, ${result.badRows} invalid (${result.issueCount} issues); an import would take ${result.rowsRead - result.skipped} with --mode skip`);
      if (!opts.data) console.log(`schema: ${JSON.stringify(result.schema)}`);
      printIssues(result.issues, result.issueCount, data.formatIssue);
      if (result.reportPath) console.log(`report: ${result.reportPath}`);
    }
    return result.issueCount > 0 ? 1 : 0;
  } finally {
    store.close();
  }
}

/** `kairos data export <file> --data log.duckdb`. */
export async function exportCommand(file: string, raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(ExportOptionsSchema, raw, 'data export');
  const data = await loadData();
  const store = await data.LogStore.open(opts.data, { readOnly: true });
  try {
    const { rows } = await data.exportLog(store, file, opts.format ? { format: opts.format } : {});
    console.log(`${opts.data}: exported ${rows} decisions to ${file}`);
    return 0;
  } finally {
    store.close();
  }
}

/** `kairos data timeline --data log.duckdb --out transitions.parquet [--stats stats.json]`. */
export async function timelineCommand(raw: Record<string, unknown>): Promise<number> {
  const opts = parseOptions(TimelineOptionsSchema, raw, 'data timeline');
  if (!opts.out.toLowerCase().endsWith('.parquet')) {
    throw new KairosError(`--out: expected a .parquet file, received ${JSON.stringify(opts.out)}`, 'invalid_option');
  }
  const data = await loadData();
  const store = await data.LogStore.open(opts.data, { readOnly: true });
  try {
    const started = performance.now();
    const { rows } = await data.timelineToParquet(store, opts.out, { ordered: opts.ordered ?? false });
    const seconds = (performance.now() - started) / 1000;
    const stats = await data.featureStatistics(store);
    const statsPath = opts.stats ?? opts.out.replace(/\.parquet$/i, '.stats.json');
    data.writeFileAtomic(statsPath, JSON.stringify(data.statisticsToJson(stats), null, 2) + '\n');
    if (opts.json) {
      console.log(JSON.stringify({ rows, out: opts.out, stats: statsPath, seconds }));
      return 0;
    }
    console.log(`${opts.data}: ${rows} transitions to ${opts.out} in ${seconds.toFixed(2)} s; feature statistics in ${statsPath}`);
    const w = Math.max(7, ...stats.names.map((n) => n.length));
    console.log(`${'feature'.padEnd(w)}  ${['mean', 'std', 'min', 'max'].map((h) => h.padStart(10)).join('  ')}`);
    stats.names.forEach((name, j) => {
      const cells = [stats.mean[j], stats.std[j], stats.min[j], stats.max[j]].map((v) => (Number.isFinite(v) ? v.toPrecision(4) : String(v)).padStart(10));
      console.log(`${name.padEnd(w)}  ${cells.join('  ')}`);
    });
    return 0;
  } finally {
    store.close();
  }
}

/** Registers `kairos data ...` on the program (called from main.ts). */
export function registerDataCommands(program: Command, setCode: (code: number) => void): void {
  const data = program.command('data').description('decision logs on DuckDB: import, export, validate, timeline');
  const fileOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'parquet', 'jsonl']))
      .option('--report <file>', 'write every issue (and skipped row) to this .csv or .jsonl file')
      .option('--feature-columns <names>', 'wide layout: comma-separated columns that make the state features')
      .option('--num-actions <k>', 'number of actions, for a new log (default: inferred)', intOption('num-actions', 1))
      .option('--allow-gaps', 'for a new log: sequence numbers may skip (time_diff carries the gap)')
      .option('--max-issues <n>', 'issues to print', intOption('max-issues', 0), 20)
      .option('--json', 'print one JSON summary');
  fileOptions(
    data
      .command('import <file>')
      .description('import a CSV, Parquet or JSON-lines file into a log (created if missing), validating every row')
      .requiredOption('--data <log>', 'the .duckdb decision log')
      .addOption(new Option('--mode <mode>', 'reject: import nothing if any row is invalid; skip: import the valid episodes').choices(['reject', 'skip']).default('reject')),
  ).action(async (file, opts) => setCode(await importCommand(file, opts)));
  fileOptions(
    data
      .command('validate <file>')
      .description('validate a file (against --data, or on its own) or a stored .duckdb log; exit 1 if any row is invalid')
      .option('--data <log>', 'check a file against this log (its schema, and duplicates with its rows)'),
  ).action(async (file, opts) => setCode(await validateCommand(file, opts)));
  data
    .command('export <file>')
    .description('export a log to CSV, Parquet or JSON lines')
    .requiredOption('--data <log>', 'the .duckdb decision log')
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'parquet', 'jsonl']))
    .action(async (file, opts) => setCode(await exportCommand(file, opts)));
  data
    .command('timeline')
    .description('turn a log into training transitions (Parquet) plus per-feature statistics (JSON)')
    .requiredOption('--data <log>', 'the .duckdb decision log')
    .requiredOption('--out <file>', 'transitions .parquet file')
    .option('--stats <file>', 'statistics JSON (default: <out>.stats.json)')
    .option('--ordered', 'sort by (mdp_id, sequence_number)')
    .option('--json', 'print one JSON summary')
    .action(async (opts) => setCode(await timelineCommand(opts)));
}
