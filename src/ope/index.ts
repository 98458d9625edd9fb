/**
 * `kairos/ope`: off-policy evaluation. Data shapes and validation (types), bandit estimators
 * (bandit/), sequential estimators and FQE (sequential/), bootstrap intervals, reports and
 * the achievable value range every estimate is checked against, the log's support of a
 * policy, and synthetic problems with exact values. See docs/ope.md.
 */
export * from './types.js';
export * from './estimate.js';
export * from './linalg.js';
export * from './bootstrap.js';
export * from './bootstrap-parallel.js';
export * from './report.js';
export * from './range.js';
export * from './support.js';
export * from './synthetic.js';
export * from './bandit/index.js';
export * from './sequential/index.js';
export * from './slate/index.js';
export * from './continuous/index.js';
