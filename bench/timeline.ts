/**
 * `npx tsx bench/timeline.ts`: the timeline over a 10-million-row decision log.
 *
 * Generates a synthetic log straight into a DuckDB file with one INSERT ... SELECT over
 * range() (1 M episodes × 10 steps, 8 features, 4 actions with masks, two reward components),
 * then times:
 *   (1) the timeline to Parquet with COPY (nothing passes through JS);
 *   (2) the timeline streamed through JS into typed-array batches (`streamTimeline`, engine
 *       order), reduced to a count and a few sums as a stand-in for a consumer;
 *   (3) the same, ordered by (mdp_id, sequence_number) (the order episodic readers need);
 *   (4) per-feature statistics (one SQL aggregate pass).
 * Prints wall time and rows/s per phase, and the process's peak RSS (getrusage maxRSS, which
 * includes DuckDB's native memory). Target (issue 6): under 60 s on 2 cores.
 *
 * Flags: --episodes=1000000 --steps=10 --features=8 --batch=65536 --threads=<all cores>
 *        --memory-limit=<DuckDB default: 80% of RAM> --dir=<temp dir> --keep (keep the files)
 *        --skip-ordered
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { featureStatistics, LogStore, streamTimeline, timelineToParquet } from '../src/data/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const episodes = Number(args.get('episodes') ?? 1_000_000);
const steps = Number(args.get('steps') ?? 10);
const d = Number(args.get('features') ?? 8);
const k = 4;
const batchRows = Number(args.get('batch') ?? 65_536);
const threads = args.has('threads') ? Number(args.get('threads')) : undefined;
const memoryLimit = args.get('memory-limit');
const dir = args.get('dir') ?? mkdtempSync(join(os.tmpdir(), 'kairos-timeline-'));
const keep = args.has('keep');
const rows = episodes * steps;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
/** Peak RSS of the process so far (Linux reports maxRSS in KiB). */
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const rate = (n: number, s: number) => `${(n / s / 1e6).toFixed(2)} M rows/s`;

async function timed<T>(label: string, f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await f();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(44)} ${seconds.toFixed(2).padStart(7)} s   ${rate(rows, seconds).padStart(16)}   peak RSS ${mib(peakRss())}`);
  return { value, seconds };
}

async function main(): Promise<void> {
  console.log(
    `timeline benchmark: ${episodes} episodes × ${steps} steps = ${rows} decisions, ${d} features, ${k} actions; ` +
      `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), DuckDB threads ${threads ?? 'default'}, memory limit ${memoryLimit ?? 'default'}`,
  );
  const dbPath = join(dir, 'log.duckdb');
  const store = await LogStore.create(
    dbPath,
    { featureDim: d, numActions: k, rewardComponents: ['clicks', 'revenue'] },
    { ...(threads ? { threads } : {}), ...(memoryLimit ? { memoryLimit } : {}), tempDirectory: join(dir, 'spill') },
  );
  try {
    // Generation in one SQL statement: features from a cheap integer hash of (row, feature),
    // a mask blocking action i % 4, the logged action (i % 4 + 1 + i % 3) % 4, never the blocked one.
    const feats = Array.from({ length: d }, (_, j) => `CAST(((i * ${2 * j + 7}) % 1009) AS FLOAT) / 1009`).join(', ');
    const gen = await timed('generate log (SQL, not part of the target)', () =>
      store.engine.execute(`INSERT INTO decisions
        SELECT 'u' || CAST(i // ${steps} AS VARCHAR), CAST(i % ${steps} AS INTEGER), NULL, [${feats}],
          CAST((i % 4 + 1 + i % 3) % 4 AS INTEGER), 1.0 / 3,
          CASE i % 4 WHEN 0 THEN [0, 1, 1, 1] WHEN 1 THEN [1, 0, 1, 1] WHEN 2 THEN [1, 1, 0, 1] ELSE [1, 1, 1, 0] END::TINYINT[],
          CAST(i % 7 AS DOUBLE) / 7, MAP(['clicks', 'revenue'], [CAST(i % 2 AS DOUBLE), CAST(i % 5 AS DOUBLE)]),
          i % ${steps} = ${steps - 1}
        FROM range(${rows}) t(i)`),
    );
    void gen;
    const parquet = join(dir, 'transitions.parquet');
    const copy = await timed('(1) timeline → Parquet (COPY)', () => timelineToParquet(store, parquet));
    console.log(`    ${copy.value.rows} rows, ${mib(statSync(parquet).size)} on disk`);
    const consume = async (ordered: boolean) => {
      let n = 0;
      let rewardSum = 0;
      let nextFeatureSum = 0;
      let terminals = 0;
      let gaps = 0;
      for await (const b of streamTimeline(store, { batchRows, ordered })) {
        n += b.n;
        for (let i = 0; i < b.n; i++) {
          rewardSum += b.rewards[i];
          terminals += b.terminals[i];
          gaps += b.timeDiffs[i] - 1;
        }
        for (let i = 0; i < b.nextStates.length; i += d) nextFeatureSum += b.nextStates[i];
      }
      return { n, rewardSum, nextFeatureSum, terminals, gaps };
    };
    const streamed = await timed('(2) timeline → JS typed arrays, streamed', () => consume(false));
    console.log(`    ${JSON.stringify(streamed.value)}`);
    if (streamed.value.n !== rows || streamed.value.terminals !== episodes) throw new Error('wrong row or terminal count');
    if (!args.has('skip-ordered')) {
      const ordered = await timed('(3) same, ordered by (mdp_id, sequence_number)', () => consume(true));
      if (ordered.value.n !== rows) throw new Error('wrong row count (ordered)');
    }
    const stats = await timed('(4) feature statistics (SQL aggregate)', () => featureStatistics(store));
    console.log(`    mean ${Array.from(stats.value.mean, (x) => x.toFixed(4)).join(' ')}`);
    console.log(`peak RSS ${mib(peakRss())}; files in ${dir}${keep ? '' : ' (removed)'}`);
  } finally {
    store.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
