/**
 * `kairos/serve`: the HTTP decision service. It serves a run folder's policy over `node:http`,
 * answers each decision with its propensity and logs it in the `src/data` decision schema.
 * See docs/serve.md.
 *
 * @example
 * import { startDecisionServer } from './src/serve/index.js';
 * const server = await startDecisionServer({ runDir: 'runs/cartpole', logPath: 'decisions.duckdb', port: 8080 });
 * process.once('SIGTERM', () => void server.close());
 */
export * from './server.js';
export * from './policy.js';
export * from './request-schema.js';
export * from './decision-log.js';
export * from './latency.js';
