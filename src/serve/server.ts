/**
 * `startDecisionServer`: a `node:http` decision service for a run folder's policy. It answers
 * each `POST /act` with an action and the exact probability it was drawn with, and appends the
 * decision to a Kairos decision log (the `src/data` schema, through its DecisionWriter), so
 * what it serves feeds the timeline and off-policy evaluation unchanged.
 *
 * Routes:
 * - `POST /act` `{ state, possibleActions?, mdpId?, sequenceNumber?, deterministic? }` →
 *   `{ action, propensity, modelVersion, decisionId, mdpId, sequenceNumber }`;
 * - `POST /reward` `{ decisionId | mdpId + sequenceNumber, reward, terminal? }` →
 *   `{ decisionId, mdpId, sequenceNumber, reward, terminal? }` once written (404 if no such
 *   decision is logged);
 * - `GET /health`: model version, uptime, decisions served and logged;
 * - `GET /metrics`: the same plus latency percentiles, batch sizes, status counts, memory.
 *
 * Batching. Requests that arrive in the same turn of the event loop are decided together: one
 * forward pass for the batch, then one uniform draw per stochastic row, in arrival order, from
 * the service's seeded generator. The same seed and the same sequence of requests therefore
 * give the same actions, batched or not. A request the log refuses (e.g. a sequence number
 * that does not continue its episode) gets a 400 and gives its random draw back.
 *
 * Errors. A bad body is a 400 whose JSON names each bad field, the value received and what
 * was expected; a body over `maxBodyBytes` a 413; an unknown path a 404; a wrong method a 405
 * with `Allow`. None of them disturbs the service.
 *
 * Shutdown. `close()` stops accepting connections, lets requests in flight finish (new
 * requests on open connections get 503), commits every decision and reward, records the
 * session's end, closes the log and frees the model. The CLI calls it on SIGINT/SIGTERM.
 *
 * Security: it binds to 127.0.0.1 unless told otherwise and has no authentication; put it
 * behind a proxy that authenticates before exposing it beyond the machine.
 *
 * @example
 * const server = await startDecisionServer({ runDir: 'runs/cartpole', logPath: 'decisions.duckdb', port: 0, seed: 7 });
 * const res = await fetch(`${server.url}/act`, { method: 'POST', body: JSON.stringify({ state: [0, 0, 0, 0] }) });
 * const { action, propensity, decisionId } = await res.json();
 * await server.close(); // every decision is in decisions.duckdb
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeValue, KairosError, parseWith, ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { initTensorBackend, tensorBackendInfo, tf } from '../tensor/backend.js';
import { DecisionLog } from './decision-log.js';
import { LatencyWindow, type LatencySummary } from './latency.js';
import { drawAction, loadServedModel, SERVE_POLICY_MODES, ServingPolicy, type ServePolicyMode } from './policy.js';
import {
  actRequestSchema,
  decisionIdOf,
  errorBody,
  parseDecisionId,
  parseJsonBody,
  parseRequestBody,
  RequestError,
  RewardRequestSchema,
} from './request-schema.js';

/** Port `kairos serve` listens on by default. */
export const DEFAULT_SERVE_PORT = 8080;
/** Host the service binds to by default: loopback only. */
export const DEFAULT_SERVE_HOST = '127.0.0.1';

/**
 * Options of {@link startDecisionServer}, with their defaults.
 *
 * @example
 * DecisionServerOptionsSchema.parse({ runDir: 'runs/cp', logPath: 'log.duckdb' }).port; // 8080
 */
export const DecisionServerOptionsSchema = z
  .object({
    /** Run folder whose policy is served (`model/policy.kst`, else its newest checkpoint). */
    runDir: z.string().min(1),
    /** DuckDB decision log (created if missing; an existing one must have the policy's sizes). */
    logPath: z.string().min(1),
    host: z.string().min(1).default(DEFAULT_SERVE_HOST),
    /** 0 = any free port (tests); read the chosen one from the returned `port`. */
    port: z.number().int().min(0).max(65535).default(DEFAULT_SERVE_PORT),
    /** Default: `epsilon-greedy` for value-based agents, `exploring` for policy-gradient ones. */
    mode: z.enum(SERVE_POLICY_MODES).optional(),
    /** Softmax temperature (default 1). */
    temperature: z.number().positive().optional(),
    /** ε of epsilon-greedy (default 0.05). */
    epsilon: z.number().min(0).max(1).optional(),
    /** Seed of the action draws. */
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Commit decisions and apply rewards at least this often (0 = only every batchRows rows and on close). */
    flushIntervalMs: z.number().int().min(0).default(1000),
    /** Commit at least every this many decisions. */
    batchRows: z.number().int().positive().default(10_000),
    /** Largest request body accepted. */
    maxBodyBytes: z.number().int().positive().default(64 * 1024),
    /** Most requests decided in one forward pass. */
    maxBatch: z.number().int().positive().default(256),
    /** Rewards wait at most this long to be written together. */
    rewardDelayMs: z.number().int().min(0).default(100),
    /** On close, how long requests in flight may take before their connections are cut. */
    shutdownTimeoutMs: z.number().int().min(0).default(10_000),
    /** DuckDB worker threads (default: DuckDB's choice). */
    threads: z.number().int().positive().optional(),
  })
  .strict();

/** What a caller passes to {@link startDecisionServer}. */
export type DecisionServerOptions = z.input<typeof DecisionServerOptionsSchema>;

/** Body of a successful `POST /act`. */
export interface ActResponse {
  /** Action id in [0, numActions). */
  action: number;
  /** Probability the action was drawn with (1 for a deterministic decision). */
  propensity: number;
  modelVersion: string;
  /** `<mdpId>/<sequenceNumber>`: pass it to `POST /reward`. */
  decisionId: string;
  mdpId: string;
  sequenceNumber: number;
}

/** Counters and latencies of a running service (also `GET /metrics`). */
export interface DecisionServerStats {
  modelVersion: string;
  sessionId: string;
  uptimeSeconds: number;
  /** Decisions answered with an action (each is in the log, committed or pending). */
  decisionsServed: number;
  /** Decisions committed to the log file. */
  decisionsLogged: number;
  /** Decisions accepted and not yet committed (committed at the next flush). */
  decisionsPending: number;
  rewardsApplied: number;
  rewardsUnmatched: number;
  /** Requests answered, by HTTP status. */
  responses: Record<string, number>;
  /** Latency of successful `/act` requests, milliseconds, from request to response end. */
  actLatencyMs: LatencySummary;
  /** Forward passes run and the mean number of requests each decided. */
  batches: number;
  meanBatchSize: number;
  /** The last log flush error (null when healthy). */
  logError: string | null;
  /** Live tensors (constant while serving: no per-request leak). */
  numTensors: number;
}

/** A running decision service. */
export interface DecisionServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly modelVersion: string;
  /** Id of this service session in the log's `kairos_serve_sessions`. */
  readonly sessionId: string;
  readonly logPath: string;
  /** The policy's state length and action count. */
  readonly obsDim: number;
  readonly numActions: number;
  /** Serving mode, e.g. `epsilon-greedy (ε = 0.05)`. */
  readonly policy: string;
  stats(): DecisionServerStats;
  /** Stops accepting, finishes requests in flight, flushes and closes the log. Idempotent. */
  close(): Promise<void>;
}

const ROUTES: Record<string, 'GET' | 'POST'> = { '/act': 'POST', '/reward': 'POST', '/health': 'GET', '/metrics': 'GET' };
const ROUTE_LIST = Object.entries(ROUTES)
  .map(([p, m]) => `${m} ${p}`)
  .join(', ');

/** Bodies this many times over the limit are not drained: the connection is cut after the 413. */
const DRAIN_FACTOR = 16;

interface PendingAct {
  state: number[];
  mask: Uint8Array | null;
  mdpId: string | undefined;
  sequenceNumber: number | undefined;
  deterministic: boolean;
  /** The client closed the connection while the request waited. */
  gone(): boolean;
  resolve(r: ActResponse): void;
  reject(err: unknown): void;
}

function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  const tooLarge = (size: number, declared: boolean) =>
    new RequestError(413, 'body_too_large', `(body): expected at most ${max} bytes, received ${size} bytes${declared ? ' (content-length)' : ''}`, [
      { path: '(body)', expected: `at most ${max} bytes`, received: `${size} bytes` },
    ]);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max * DRAIN_FACTOR) return Promise.reject(Object.assign(tooLarge(declared, true), { cut: true }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > max * DRAIN_FACTOR) {
        req.pause();
        reject(Object.assign(tooLarge(size, false), { cut: true }));
      }
    });
    req.on('end', () => (size > max ? reject(tooLarge(size, false)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/**
 * Starts the decision service for a run folder and resolves once it listens. See the module
 * comment for routes, batching, errors and shutdown.
 *
 * @example
 * const server = await startDecisionServer({ runDir: 'runs/cp', logPath: 'log.duckdb', port: 0, mode: 'softmax', temperature: 0.5 });
 * console.log(server.url, server.modelVersion);
 * await server.close();
 */
export async function startDecisionServer(input: DecisionServerOptions): Promise<DecisionServer> {
  const options = parseWith(DecisionServerOptionsSchema, input, 'startDecisionServer');
  if (tensorBackendInfo() === null) await initTensorBackend();
  const served = await loadServedModel(options.runDir);
  let log: DecisionLog | null = null;
  try {
    const policy = new ServingPolicy(served.agent, {
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}),
    });
    const sessionId = randomBytes(4).toString('hex');
    log = await DecisionLog.open({
      path: options.logPath,
      featureDim: policy.obsDim,
      numActions: policy.numActions,
      batchRows: options.batchRows,
      flushIntervalMs: options.flushIntervalMs,
      rewardDelayMs: options.rewardDelayMs,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      session: {
        sessionId,
        modelVersion: served.modelVersion,
        runDir: options.runDir,
        algorithm: served.spec.algorithm,
        env: served.spec.env.id,
        policyMode: policy.mode,
        temperature: policy.mode === 'softmax' ? policy.temperature : null,
        epsilon: policy.mode === 'epsilon-greedy' ? policy.epsilon : null,
        seed: options.seed,
      },
    });
    const service = new DecisionService(policy, log, served.modelVersion, sessionId, options, {
      algorithm: served.spec.algorithm,
      env: served.spec.env.id,
      runDir: options.runDir,
    });
    return await service.listen();
  } catch (err) {
    await log?.close().catch(() => undefined);
    served.agent.dispose();
    throw err;
  }
}

type ResolvedOptions = z.output<typeof DecisionServerOptionsSchema>;

/** The service behind {@link DecisionServer}: routing, the act queue, counters, shutdown. */
class DecisionService {
  private readonly server: http.Server;
  private readonly rng: Rng;
  private readonly actSchema: ReturnType<typeof actRequestSchema>;
  private readonly started = performance.now();
  private readonly latency = new LatencyWindow(8192);
  private readonly responses: Record<string, number> = {};
  private queue: PendingAct[] = [];
  private draining = false;
  private generated = 0;
  private served = 0;
  private batches = 0;
  private batchedRequests = 0;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closing = false;
  private closePromise: Promise<void> | null = null;

  constructor(
    private readonly policy: ServingPolicy,
    private readonly log: DecisionLog,
    private readonly modelVersion: string,
    private readonly sessionId: string,
    private readonly options: ResolvedOptions,
    private readonly info: { algorithm: string; env: string; runDir: string },
  ) {
    this.rng = new Rng(options.seed);
    this.actSchema = actRequestSchema(policy.obsDim, policy.numActions);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Unparseable HTTP: answer in JSON like every other error, then drop the connection.
      if (socket.writable && !socket.destroyed) {
        const body = JSON.stringify({ error: { code: 'bad_http', message: `malformed HTTP request (${err.code ?? err.message})` } });
        socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      } else socket.destroy();
    });
  }

  listen(): Promise<DecisionServer> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const what = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new KairosError(`cannot listen on ${this.options.host}:${this.options.port}: ${what}`, 'listen_failed'));
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const port = (this.server.address() as AddressInfo).port;
        const host = this.options.host;
        const hostInUrl = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${hostInUrl}:${port}`,
          host,
          port,
          modelVersion: this.modelVersion,
          sessionId: this.sessionId,
          logPath: this.log.path,
          obsDim: this.policy.obsDim,
          numActions: this.policy.numActions,
          policy: this.policy.describe(),
          stats: () => this.stats(),
          close: () => this.close(),
        });
      });
    });
  }

  stats(): DecisionServerStats {
    const log = this.log.stats();
    return {
      modelVersion: this.modelVersion,
      sessionId: this.sessionId,
      uptimeSeconds: (performance.now() - this.started) / 1000,
      decisionsServed: this.served,
      decisionsLogged: log.committed,
      decisionsPending: log.accepted - log.committed,
      rewardsApplied: log.rewardsApplied,
      rewardsUnmatched: log.rewardsUnmatched,
      responses: { ...this.responses },
      actLatencyMs: this.latency.summary(),
      batches: this.batches,
      meanBatchSize: this.batches ? this.batchedRequests / this.batches : 0,
      logError: log.lastError,
      numTensors: tf.memory().numTensors,
    };
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    this.responses[status] = (this.responses[status] ?? 0) + 1;
    if (this.closing) headers.connection = 'close';
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, err: unknown, route: string): void {
    if (err instanceof RequestError) {
      const cut = (err as RequestError & { cut?: boolean }).cut === true;
      this.send(res, err.status, errorBody(err), cut ? { connection: 'close' } : {});
      if (cut) res.once('finish', () => res.socket?.destroy());
      return;
    }
    if (err instanceof ValidationError) {
      // The log refused the decision (its sequence checks): the client's request is at fault.
      const issue = { path: err.path, expected: err.expected, received: describeValue(err.received) };
      this.send(res, 400, errorBody(new RequestError(400, 'invalid_request', `${route}: ${issue.path}: expected ${issue.expected}, received ${issue.received}`, [issue])));
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.send(res, 500, { error: { code: err instanceof KairosError ? err.code : 'internal_error', message } });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    this.inFlight++;
    let closedEarly = false;
    res.once('close', () => {
      closedEarly = !res.writableFinished;
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
    const route = (req.url ?? '/').split('?', 1)[0];
    try {
      const method = Object.hasOwn(ROUTES, route) ? ROUTES[route] : undefined; // not `constructor` & co.
      if (!method) throw new RequestError(404, 'not_found', `no route ${req.method} ${route}; routes: ${ROUTE_LIST}`);
      if (req.method !== method) {
        req.resume();
        this.send(res, 405, errorBody(new RequestError(405, 'method_not_allowed', `${route} takes ${method}, received ${req.method}`)), { allow: method });
        return;
      }
      if (this.closing) throw new RequestError(503, 'shutting_down', 'the decision service is shutting down');
      if (method === 'GET') {
        req.resume();
        this.send(res, 200, route === '/health' ? this.health() : this.metrics());
        return;
      }
      const json = parseJsonBody(await readBody(req, this.options.maxBodyBytes));
      if (route === '/act') {
        const body = await this.act(json, () => closedEarly);
        this.send(res, 200, body);
        this.latency.record(performance.now() - t0);
      } else {
        this.send(res, 200, await this.reward(json));
      }
    } catch (err) {
      if (!res.headersSent) this.sendError(res, err, route);
      else res.destroy();
    }
  }

  private health(): Record<string, unknown> {
    const s = this.stats();
    return {
      status: this.closing ? 'closing' : s.logError ? 'degraded' : 'ok',
      modelVersion: this.modelVersion,
      algorithm: this.info.algorithm,
      env: this.info.env,
      runDir: this.info.runDir,
      policy: this.policy.describe(),
      obsDim: this.policy.obsDim,
      numActions: this.policy.numActions,
      sessionId: this.sessionId,
      uptimeSeconds: s.uptimeSeconds,
      decisionsServed: s.decisionsServed,
      decisionsLogged: s.decisionsLogged,
      decisionsPending: s.decisionsPending,
      rewardsApplied: s.rewardsApplied,
      logPath: this.log.path,
      ...(s.logError ? { logError: s.logError } : {}),
    };
  }

  private metrics(): Record<string, unknown> {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return { ...this.stats(), memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed }, cpu: { userMicros: cpu.user, systemMicros: cpu.system } };
  }

  private act(json: unknown, gone: () => boolean): Promise<ActResponse> {
    const body = parseRequestBody(this.actSchema, json, '/act');
    let mask: Uint8Array | null = null;
    if (body.possibleActions) {
      mask = new Uint8Array(this.policy.numActions);
      for (const a of body.possibleActions) mask[a] = 1;
    }
    return new Promise<ActResponse>((resolve, reject) => {
      this.queue.push({
        state: body.state,
        mask,
        mdpId: body.mdpId,
        sequenceNumber: body.sequenceNumber,
        deterministic: body.deterministic === true,
        gone,
        resolve,
        reject,
      });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Decides queued requests batch by batch, never while the log runs DuckDB work. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        while (this.log.busy) await this.log.busy.catch(() => undefined);
        const batch = this.queue.splice(0, this.options.maxBatch);
        try {
          this.decide(batch);
        } catch (err) {
          for (const item of batch) item.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private decide(batch: PendingAct[]): void {
    const n = batch.length;
    const d = this.policy.obsDim;
    const K = this.policy.numActions;
    const obs = new Float32Array(n * d);
    const deterministic = new Uint8Array(n);
    let masks: Uint8Array | null = null;
    for (let i = 0; i < n; i++) {
      const item = batch[i];
      obs.set(item.state, i * d);
      if (item.deterministic) deterministic[i] = 1;
      if (item.mask) {
        masks ??= new Uint8Array(n * K).fill(1);
        masks.set(item.mask, i * K);
      }
    }
    const invalid = new Uint8Array(n);
    const probs = this.policy.probabilities(obs, n, masks, deterministic, invalid);
    this.batches++;
    this.batchedRequests += n;
    const timestamp = Date.now();
    for (let i = 0; i < n; i++) {
      const item = batch[i];
      if (item.gone()) {
        item.reject(new RequestError(499, 'client_gone', 'the client closed the connection before the decision'));
        continue; // never logged: the client cannot act on it
      }
      if (invalid[i]) {
        const issue = { path: 'state', expected: "a state the policy can evaluate (its outputs for this state are not finite)", received: describeValue(item.state) };
        item.reject(new RequestError(400, 'invalid_state', `/act: state: expected ${issue.expected}, received ${issue.received}`, [issue]));
        continue;
      }
      const before = this.rng.getState();
      const action = drawAction(probs, i * K, K, this.rng);
      const propensity = Math.min(1, probs[i * K + action]);
      const generated = item.mdpId === undefined;
      const mdpId = item.mdpId ?? `${this.sessionId}-${this.generated}`;
      const sequenceNumber = item.sequenceNumber ?? 0;
      try {
        this.log.append({
          mdpId,
          sequenceNumber,
          timestamp,
          features: obs.subarray(i * d, (i + 1) * d),
          action,
          actionProbability: propensity,
          possibleActions: item.mask,
          reward: 0,
          // A one-step episode the service named ends here; a client's episode ends when it says (POST /reward terminal).
          terminal: generated,
        });
      } catch (err) {
        this.rng.setState(before); // a refused request does not shift the actions of the next ones
        item.reject(err);
        continue;
      }
      if (generated) this.generated++;
      this.served++;
      item.resolve({ action, propensity, modelVersion: this.modelVersion, decisionId: decisionIdOf(mdpId, sequenceNumber), mdpId, sequenceNumber });
    }
  }

  private async reward(json: unknown): Promise<Record<string, unknown>> {
    const body = parseRequestBody(RewardRequestSchema, json, '/reward');
    const key =
      body.decisionId !== undefined
        ? parseDecisionId(body.decisionId)
        : { mdpId: body.mdpId as string, sequenceNumber: body.sequenceNumber as number };
    const found = await this.log.reward({ ...key, reward: body.reward, ...(body.terminal !== undefined ? { terminal: body.terminal } : {}) });
    const decisionId = decisionIdOf(key.mdpId, key.sequenceNumber);
    if (!found) {
      throw new RequestError(404, 'unknown_decision', `/reward: no logged decision ${JSON.stringify(decisionId)} (mdpId ${JSON.stringify(key.mdpId)}, sequenceNumber ${key.sequenceNumber}) in ${this.log.path}`);
    }
    return { decisionId, ...key, reward: body.reward, ...(body.terminal !== undefined ? { terminal: body.terminal } : {}) };
  }

  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Rewards waiting for their batch are written now rather than after the delay.
    await this.log.flush().catch(() => undefined);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.shutdownTimeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.server.closeAllConnections();
    await closed;
    try {
      await this.log.close();
    } finally {
      this.policy.agent.dispose();
    }
  }
}
