/**
 * `kairos/ope`: off-policy evaluation. Data shapes and validation (types), bandit estimators
 * (bandit/), sequential estimators and FQE (sequential/), bootstrap intervals, reports and
 * synthetic problems with exact values. See docs/ope.md.
 */
export * from './types.js';
export * from './estimate.js';
export * from './linalg.js';
export * from './bootstrap.js';
export * from './bootstrap-parallel.js';
export * from './report.js';
export * from './synthetic.js';
export * from './bandit/index.js';
export * from './sequential/index.js';
