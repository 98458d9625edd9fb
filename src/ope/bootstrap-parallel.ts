/**
 * The Poisson bootstrap on several cores (Node only: `worker_threads`).
 *
 * The row blocks of {@link poissonBlockSums} are split into contiguous ranges, one per worker;
 * each block has its own seeded generator and the per-block sums are added in block order on
 * the main thread, so the replicates are bit-for-bit those of the single-threaded
 * {@link bootstrapTerms} with the same seed, whatever the number of workers.
 *
 * Columns are shared with the workers, not copied, when they live in a SharedArrayBuffer
 * (estimators allocate large columns that way, see `allocColumn`); otherwise they are copied
 * once into shared memory.
 *
 * @example
 * const ci = await bootstrapTermsParallel(doublyRobust().terms(data, model), { resamples: 200, workers: 2 });
 */
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { termsValue, type SampleTerms } from './estimate.js';
import {
  blockStates,
  bootstrapTerms,
  intervalFromReplicates,
  poissonBlockSums,
  poissonTables,
  POISSON_BLOCK_SIZE,
  replicatesFromBlockSums,
  resolveBootstrapOptions,
  resolveScheme,
  type BootstrapOptions,
  type BootstrapResult,
} from './bootstrap.js';

/** Options of {@link bootstrapTermsParallel}. */
export interface ParallelBootstrapOptions extends BootstrapOptions {
  /** Worker threads (default: available parallelism). 1 runs in this thread. */
  workers?: number;
}

// The worker evaluates the kernel's own source, so the kernel is written once.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const kernel = (${poissonBlockSums.toString()});
const d = workerData;
const out = new Float64Array((d.blockEnd - d.blockStart) * d.resamples * (d.columns.length + 1));
kernel(d.columns, d.n, d.blockStart, d.blockEnd, d.blockSize, d.resamples, d.states, d.lut, d.thresholds, out);
parentPort.postMessage(out, [out.buffer]);
`;

function shared(column: Float64Array): Float64Array {
  if (column.buffer instanceof SharedArrayBuffer) return column;
  const copy = new Float64Array(new SharedArrayBuffer(column.length * 8));
  copy.set(column);
  return copy;
}

function runWorker(workerData: Record<string, unknown>): Promise<Float64Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.once('message', (m: Float64Array) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bootstrap worker exited with code ${code}`));
    });
  });
}

/**
 * Bootstrap interval of term-based estimates with the Poisson kernel spread over worker
 * threads. Falls back to {@link bootstrapTerms} when the scheme is multinomial (small data)
 * or `workers` is 1.
 */
export async function bootstrapTermsParallel(terms: SampleTerms, options: ParallelBootstrapOptions = {}): Promise<BootstrapResult> {
  const { workers: requested, ...rest } = options;
  const opts = resolveBootstrapOptions(rest);
  const scheme = resolveScheme(opts, terms.n);
  const numBlocks = Math.ceil(terms.n / POISSON_BLOCK_SIZE);
  const workers = Math.max(1, Math.min(requested ?? os.availableParallelism(), numBlocks));
  if (scheme !== 'poisson' || workers === 1) return bootstrapTerms(terms, opts);

  const { thresholds, lut } = poissonTables();
  const states = blockStates(opts.seed, numBlocks);
  const columns = terms.columns.map(shared);
  const stride = opts.resamples * (columns.length + 1);
  const perWorker = Math.ceil(numBlocks / workers);
  const jobs: Promise<Float64Array>[] = [];
  const ranges: [number, number][] = [];
  for (let w = 0; w < workers; w++) {
    const blockStart = w * perWorker;
    const blockEnd = Math.min(numBlocks, blockStart + perWorker);
    if (blockStart >= blockEnd) break;
    ranges.push([blockStart, blockEnd]);
    jobs.push(
      runWorker({
        columns,
        n: terms.n,
        blockStart,
        blockEnd,
        blockSize: POISSON_BLOCK_SIZE,
        resamples: opts.resamples,
        states,
        lut,
        thresholds,
      }),
    );
  }
  const parts = await Promise.all(jobs);
  const all = new Float64Array(numBlocks * stride);
  parts.forEach((part, j) => all.set(part, ranges[j][0] * stride));
  const reps = replicatesFromBlockSums(terms, all, numBlocks, opts.resamples);
  return intervalFromReplicates(termsValue(terms), reps, opts, 'poisson');
}
