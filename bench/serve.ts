/**
 * `npx tsx bench/serve.ts`: load test of the decision service on loopback.
 *
 * Trains a small DQN run on CartPole-v1 (MLP 4-64-64-2; the weights do not matter for speed),
 * starts `kairos serve`'s library entry point in a child process (so the load generator does
 * not share its event loop), warms it up, then sends `--requests` POST /act requests with
 * `--concurrency` keep-alive connections, each request with a fresh random state (a fifth of
 * them with a possibleActions mask). Then it stops the service with SIGTERM and checks that the
 * DuckDB log holds exactly one row per successful request (warm-up included): no decision lost.
 *
 * Prints requests/s, client-side latency p50/p90/p99/max (request written to response read,
 * in the load generator), the service's own latency percentiles and mean batch size (GET
 * /metrics), the service's peak RSS (getrusage maxRSS of the child, tfjs WASM and DuckDB
 * included) and the row check.
 *
 * Flags: --requests=20000 --concurrency=32 --warmup=1000 --mode=epsilon-greedy --seed=0
 *        --client=raw|http (raw: HTTP/1.1 written on net sockets, the cheaper load generator)
 *        --run=<existing run folder> --dir=<temp dir> --keep
 * Env: SERVE_BENCH_NODE_ARGS="--cpu-prof" passes Node flags to the service process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LogStore } from '../src/data/index.js';
import { percentile } from '../src/serve/latency.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));

if (args.get('role') === 'server') await serverRole();
else await main();

/** Child process: the service, until SIGTERM; then one JSON line with its counters and peak RSS. */
async function serverRole(): Promise<void> {
  const { startDecisionServer } = await import('../src/serve/index.js');
  const server = await startDecisionServer({
    runDir: args.get('run') as string,
    logPath: args.get('log') as string,
    port: 0,
    seed: Number(args.get('seed') ?? 0),
    mode: (args.get('mode') ?? 'epsilon-greedy') as 'epsilon-greedy',
  });
  console.log(JSON.stringify({ event: 'listening', url: server.url, modelVersion: server.modelVersion }));
  process.once('SIGTERM', () => {
    const t0 = performance.now();
    void server.close().then(() => {
      const s = server.stats();
      console.log(JSON.stringify({ event: 'stopped', closeMs: performance.now() - t0, stats: s, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
    });
  });
}

async function main(): Promise<void> {
  const requests = Number(args.get('requests') ?? 20_000);
  const concurrency = Number(args.get('concurrency') ?? 32);
  const warmup = Number(args.get('warmup') ?? 1000);
  const dir = args.get('dir') ?? mkdtempSync(join(os.tmpdir(), 'kairos-serve-bench-'));
  const log = join(dir, 'decisions.duckdb');
  console.log(
    `serve benchmark: ${requests} POST /act requests, concurrency ${concurrency}, warm-up ${warmup}; ` +
      `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg()[0].toFixed(2)}`,
  );

  let runDir = args.get('run');
  if (!runDir) {
    const { initTensorBackend } = await import('../src/tensor/backend.js');
    const { startRun } = await import('../src/train/run.js');
    await initTensorBackend();
    runDir = join(dir, 'run');
    const t0 = performance.now();
    await startRun(
      { algorithm: 'dqn', env: { id: 'CartPole-v1' }, totalSteps: 1000, config: { network: { hiddenSizes: [64, 64] }, learningStarts: 200 }, evalEvery: 0, finalEvalEpisodes: 0, checkpointEvery: 0 },
      { runDir },
    );
    console.log(`trained a DQN run (MLP 4-64-64-2, 1000 steps) in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${runDir}`);
  }

  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...(process.env.SERVE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', self, '--role=server', `--run=${runDir}`, `--log=${log}`, `--seed=${args.get('seed') ?? 0}`, `--mode=${args.get('mode') ?? 'epsilon-greedy'}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const events = new Map<string, any>();
  const waiters = new Map<string, (e: any) => void>();
  lines.on('line', (line) => {
    const e = JSON.parse(line);
    events.set(e.event, e);
    waiters.get(e.event)?.(e);
  });
  const next = (event: string) => new Promise<any>((resolve) => (events.has(event) ? resolve(events.get(event)) : waiters.set(event, resolve)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const { url, modelVersion } = await Promise.race([next('listening'), exited.then((c) => Promise.reject(new Error(`server exited with ${c}`)))]);
  const { hostname, port } = new URL(url);
  console.log(`service at ${url}, model ${modelVersion}`);

  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const bodyFor = (i: number) =>
    JSON.stringify(i % 5 === 0 ? { state: [rand() * 0.5, rand(), rand() * 0.2, rand()], possibleActions: [i % 2] } : { state: [rand() * 0.5, rand(), rand() * 0.2, rand()] });
  const send = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: hostname, port, path: '/act', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  const getJson = (path: string) =>
    new Promise<any>((resolve, reject) => {
      http.get({ host: hostname, port, path, agent }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      }).on('error', reject);
    });

  /**
   * One keep-alive connection speaking HTTP/1.1 directly: a request is one socket write of a
   * preformatted head and body, a response is parsed only as far as the status and
   * content-length. Several times cheaper than `http.request`, so the load generator, which
   * shares the 2 cores with the service, takes less of them (`--client=http` for node:http).
   */
  const rawSockets: net.Socket[] = [];
  function rawConnection(): Promise<(body: string) => Promise<number>> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(sendRaw));
      rawSockets.push(socket);
      socket.setNoDelay(true);
      socket.once('error', reject);
      let buffer: Buffer = Buffer.alloc(0);
      let pending: ((status: number) => void) | null = null;
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        const headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffer.subarray(0, headEnd).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < headEnd + 4 + length) return;
        buffer = buffer.subarray(headEnd + 4 + length);
        const done = pending;
        pending = null;
        done?.(Number(head.slice(9, 12)));
      });
      function sendRaw(body: string): Promise<number> {
        return new Promise((res) => {
          pending = res;
          socket.write(`POST /act HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        });
      }
    });
  }
  const rawClients = args.get('client') === 'http' ? null : await Promise.all(Array.from({ length: concurrency }, rawConnection));

  /** Sends n requests with `concurrency` in flight; returns latencies (ms) and status counts. */
  async function load(n: number): Promise<{ latencies: Float64Array; ok: number; failed: number; seconds: number }> {
    const latencies = new Float64Array(n);
    let issued = 0;
    let ok = 0;
    let failed = 0;
    const t0 = performance.now();
    const worker = async (w: number) => {
      const sendOne = rawClients ? rawClients[w] : send;
      while (issued < n) {
        const i = issued++;
        const body = bodyFor(i);
        const s = performance.now();
        const status = await sendOne(body).catch(() => 0);
        latencies[i] = performance.now() - s;
        if (status === 200) ok++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    return { latencies, ok, failed, seconds: (performance.now() - t0) / 1000 };
  }

  const warm = await load(warmup);
  const before = await getJson('/metrics');
  const r = await load(requests);
  const after = await getJson('/metrics');
  agent.destroy();
  for (const socket of rawSockets) socket.destroy();

  child.kill('SIGTERM');
  const stopped = await next('stopped');
  await exited;
  const store = await LogStore.open(log, { readOnly: true });
  const rows = await store.count();
  store.close();

  const sorted = r.latencies.slice().sort();
  const batches = after.batches - before.batches;
  const served = after.decisionsServed - before.decisionsServed;
  const f = (x: number) => x.toFixed(2);
  console.log(`requests/s                 ${(r.ok / r.seconds).toFixed(0)} (${r.ok} ok, ${r.failed} failed, ${r.seconds.toFixed(2)} s)`);
  console.log(`client latency ms          p50 ${f(percentile(sorted, 0.5))}  p90 ${f(percentile(sorted, 0.9))}  p99 ${f(percentile(sorted, 0.99))}  max ${f(sorted[sorted.length - 1])}`);
  const sl = after.actLatencyMs;
  console.log(`service latency ms (last ${sl.windowCount})  p50 ${f(sl.p50)}  p90 ${f(sl.p90)}  p99 ${f(sl.p99)}  max (whole run) ${f(sl.max)}`);
  const cpuMicros = after.cpu.userMicros + after.cpu.systemMicros - before.cpu.userMicros - before.cpu.systemMicros;
  console.log(`service CPU                ${(cpuMicros / served).toFixed(0)} µs per request (${(cpuMicros / 1e6 / r.seconds * 100).toFixed(0)}% of one core during the load)`);
  console.log(`batches                    ${batches} forward passes, mean ${(served / batches).toFixed(1)} requests each`);
  console.log(`service peak RSS           ${(stopped.maxRssBytes / 2 ** 20).toFixed(0)} MiB; tensors ${before.numTensors} before, ${after.numTensors} after`);
  console.log(`shutdown (flush + close)   ${stopped.closeMs.toFixed(0)} ms`);
  const expected = warm.ok + r.ok;
  console.log(`decision log               ${rows} rows, ${expected} successful requests: ${rows === expected ? 'OK, no decision lost' : 'MISMATCH'}`);
  if (!args.has('keep') && !args.has('dir')) rmSync(dir, { recursive: true, force: true });
  if (rows !== expected || r.failed > 0) process.exitCode = 1;
}
