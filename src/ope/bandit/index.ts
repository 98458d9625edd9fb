/** Bandit OPE estimators and reward models. */
export * from './estimator.js';
export * from './direct-method.js';
export * from './ips.js';
export * from './clipped-ips.js';
export * from './snips.js';
export * from './doubly-robust.js';
export * from './self-normalized-dr.js';
export * from './switch-dr.js';
export * from './dr-shrinkage.js';
export * from './reward-model.js';
export * from './subgaussian-ips.js';
export * from './marginalized-ips.js';
export * from './slope.js';
