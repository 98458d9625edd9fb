/**
 * Request latencies over a sliding window, for `GET /metrics` and the load test: a ring of the
 * last `capacity` samples (a preallocated Float64Array, no allocation per request) plus the
 * all-time count and maximum. Percentiles sort a copy of the window when asked, which is rare
 * next to the requests.
 *
 * @example
 * const lat = new LatencyWindow(8192);
 * lat.record(0.42);
 * lat.summary(); // { count: 1, windowCount: 1, p50: 0.42, p90: 0.42, p99: 0.42, max: 0.42, mean: 0.42 }
 */

/** Percentiles of the window (milliseconds), count and max over all time. */
export interface LatencySummary {
  /** Samples recorded since the start. */
  count: number;
  /** Samples the percentiles are over (the newest `capacity`). */
  windowCount: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  /** Largest sample since the start. */
  max: number;
}

/**
 * A sliding window of latencies; see the module comment.
 *
 * @example
 * const w = new LatencyWindow(1024);
 * w.record(performance.now() - t0);
 * w.summary().p99;
 */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private next = 0;
  private total = 0;
  private maxSeen = 0;

  constructor(readonly capacity = 8192) {
    this.ring = new Float64Array(capacity);
  }

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
    if (ms > this.maxSeen) this.maxSeen = ms;
  }

  /** Percentiles (nearest rank) of the window; zeros when empty. */
  summary(): LatencySummary {
    const n = Math.min(this.total, this.capacity);
    if (n === 0) return { count: 0, windowCount: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.ring.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    return {
      count: this.total,
      windowCount: n,
      mean: sum / n,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: this.maxSeen,
    };
  }
}

/**
 * Nearest-rank percentile of ascending `sorted` values: the smallest value with at least a
 * fraction `q` of the samples at or below it.
 *
 * @example
 * percentile(Float64Array.of(1, 2, 3, 4), 0.5); // 2
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}
